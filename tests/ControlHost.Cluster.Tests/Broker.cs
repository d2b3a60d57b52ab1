using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ControlHost.Cluster.Tests;

/// <summary>
/// Debian's nats-server with JetStream on a free loopback port, its store in a temporary folder: started by a test,
/// restarted on the same port and store (nothing queued may be lost), stopped at the end.
/// </summary>
public sealed class Broker : IAsyncDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("controlhost-nats-").FullName;
    private Process? _process;

    public int Port { get; } = FreePort();
    public string Url => $"nats://127.0.0.1:{Port}";

    public static string Executable => Environment.GetEnvironmentVariable("CONTROLHOST_NATS_SERVER") is { Length: > 0 } e ? e : "nats-server";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static async Task<Broker> StartAsync()
    {
        var broker = new Broker();
        await broker.LaunchAsync();
        return broker;
    }

    private async Task LaunchAsync()
    {
        var psi = new ProcessStartInfo(Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-js", "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-sd", _store })
            psi.ArgumentList.Add(a);
        try
        {
            _process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"cannot start '{Executable}' ({e.Message}): install Debian's nats-server (apt-get install nats-server), as .ci/run does", e);
        }
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        for (var i = 0; i < 200; i++)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"nats-server did not listen on {Port}");
    }

    /// <summary>Stops the server abruptly (SIGKILL) and starts it again on the same port and store.</summary>
    public async Task RestartAsync(TimeSpan down)
    {
        Stop();
        await Task.Delay(down);
        await LaunchAsync();
    }

    private void Stop()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
        _process?.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        try { Directory.Delete(_store, recursive: true); }
        catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
