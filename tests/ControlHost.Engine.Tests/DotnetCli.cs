using System.Diagnostics;

namespace ControlHost.Engine.Tests;

/// <summary>Runs the dotnet CLI from a test, failing it with the output when the command fails.</summary>
internal static class DotnetCli
{
    public static void Run(string workDir, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workDir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        using var p = Process.Start(psi)!;
        var errors = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(240_000), $"dotnet {string.Join(' ', args)} did not finish");
        Assert.True(p.ExitCode == 0, $"dotnet {string.Join(' ', args)} failed:\n{output}\n{errors.Result}");
    }
}
