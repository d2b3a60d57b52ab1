using System.Collections.Concurrent;
using System.Diagnostics;

namespace ControlHost.Cluster.Tests;

/// <summary>A `controlhost worker` process on the repository's models, which a test may kill with SIGKILL.</summary>
public sealed class WorkerProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    public string Id { get; }

    private WorkerProcess(string id, Process process)
    {
        Id = id;
        _process = process;
    }

    /// <summary>The settings every test worker shares: quick heartbeats and redelivery, two threads (the reference
    /// run's), and the attempts a job gets.</summary>
    public static WorkerProcess Start(string url, string id, int maxAttempts = 3, string? modelsDir = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "controlhost.dll"), "worker", "--nats", url, "--id", id, "--threads", "2", "--device", "cpu",
                     "--ack-wait", ClusterFixture.AckWait.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--heartbeat", ClusterFixture.Heartbeat.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--max-attempts", maxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        if (modelsDir is not null)
        {
            psi.ArgumentList.Add("--models-dir");
            psi.ArgumentList.Add(modelsDir);
        }
        psi.Environment["CONTROLHOST_MODELS"] = Path.Combine(ClusterFixture.Root, "models");
        var worker = new WorkerProcess(id, Process.Start(psi)!);
        worker._process.OutputDataReceived += (_, e) => { if (e.Data is not null) worker._lines.Enqueue(e.Data); };
        worker._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) worker._lines.Enqueue(e.Data); };
        worker._process.BeginOutputReadLine();
        worker._process.BeginErrorReadLine();
        return worker;
    }

    public string Output => string.Join("\n", _lines);

    /// <summary>SIGKILL: no goodbye, no ack, no cleanup.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    /// <summary>SIGTERM (what systemd and Kubernetes send): the worker's exit code once it has stopped by itself.</summary>
    public int Terminate(TimeSpan within)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        if (!_process.WaitForExit(within)) throw new TimeoutException($"worker {Id} did not stop within {within.TotalSeconds} s of SIGTERM:\n{Output}");
        return _process.ExitCode;
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
