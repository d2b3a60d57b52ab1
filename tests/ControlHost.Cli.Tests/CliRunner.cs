using System.Diagnostics;

namespace ControlHost.Cli.Tests;

/// <summary>Runs the built controlhost program as a user would, in a temporary working folder.</summary>
internal static class CliRunner
{
    public static string RepoRoot { get; } = FindRoot();

    public static (int Code, string Out, string Err) Run(string workDir, params string[] args) => RunWithHome(workDir, null, args);

    /// <summary>Runs with HOME (where ONNX Runtime would write its telemetry files) set to <paramref name="home"/>.</summary>
    public static (int Code, string Out, string Err) RunWithHome(string workDir, string? home, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "controlhost.dll");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["CONTROLHOST_MODELS"] = Path.Combine(RepoRoot, "models");
        if (home is not null) psi.Environment["HOME"] = home;
        // The images of the jobs run, kept by hash for --from: one store per test folder.
        psi.Environment["CONTROLHOST_BLOBS"] = Path.Combine(workDir, ".blobs");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill(true);
            throw new TimeoutException($"controlhost {string.Join(" ", args)} did not finish in 120 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string FindRoot()
    {
        return Engine.Models.ProgramFolders.FindAbove(dir => File.Exists(Path.Combine(dir, "ControlHost.sln"))) ??
            throw new InvalidOperationException("repository root not found");
    }
}
