namespace ControlHost.Cli.Tests;

/// <summary>A local image tool does not phone home: ONNX Runtime's telemetry stays off in the programs' processes.</summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("controlhost-telemetry-").FullName;

    [Fact]
    public void A_generation_leaves_no_ONNX_Runtime_telemetry_files_in_the_home_folder()
    {
        var home = Path.Combine(_dir, "home");
        Directory.CreateDirectory(home);
        var (code, _, stderr) = CliRunner.RunWithHome(_dir, home, "generate", "--prompt", "a red star", "--steps", "2", "--seed", "1",
            "--control", $"canny={Path.Combine(CliRunner.RepoRoot, "examples", "star-scene.png")}", "--out", "out.png");
        Assert.True(code == 0, stderr);
        // ORT 1.31's provider writes a device id and a database here when it runs (checked: both appear without the switch)
        var written = Directory.EnumerateFileSystemEntries(home, "*", SearchOption.AllDirectories).Where(p => p.Contains("onnxruntime", StringComparison.OrdinalIgnoreCase)).ToList();
        Assert.True(written.Count == 0, $"telemetry files written: {string.Join(", ", written)}");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
