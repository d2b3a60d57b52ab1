using System.CommandLine;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Cluster;
using ControlHost.Engine.Onnx;
using ControlHost.Server;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost worker --nats URL: runs jobs from a cluster's queue until stopped (Ctrl+C or SIGTERM).</summary>
internal static class WorkerCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var nats = new Option<string>("--nats") { Description = "The cluster's NATS server, e.g. nats://10.0.0.5:4222", Required = true };
        var id = new Option<string?>("--id") { Description = "This worker's name in status and logs (default: host-pid-random)" };
        var modelsDir = new Option<string?>("--models-dir") { Description = "A models folder to search first (an A1111 or ComfyUI installation's)" };
        var plugins = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };
        var device = new Option<DeviceChoice>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => DeviceChoice.Auto };
        var threads = new Option<int>("--threads") { Description = "CPU threads for ONNX Runtime (0: its default)" };
        // The cluster's own options, read by the server's one parser (as `serve --nats` reads them).
        var prefix = new Option<string?>("--cluster-prefix") { Description = "The cluster's prefix on the NATS server (default controlhost)" };
        var ackWait = new Option<double?>("--ack-wait") { Description = "Seconds without a progress ack before a job goes to another worker (default 30)" };
        var heartbeat = new Option<double?>("--heartbeat") { Description = "Seconds between progress acks and heartbeats (default 2)" };
        var retention = new Option<double?>("--job-retention") { Description = "Days job records and images stay on the broker (default 7; the same on every node)" };
        var drain = new Option<double>("--drain") { Description = "Seconds a stopping worker (Ctrl+C, SIGTERM) gives its running job to finish (default 60)", DefaultValueFactory = _ => 60 };
        var attempts = new Option<int?>("--max-attempts") { Description = "Times a job may be started before it ends failed (default 3)" };
        var command = new Command("worker", "Run jobs from a ControlHost cluster's queue (NATS JetStream) on this machine's models");
        foreach (var o in new Option[] { nats, id, modelsDir, plugins, device, threads, prefix, ackWait, heartbeat, attempts, drain, retention }) command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            ClusterOptions options;
            try
            {
                options = ServerArgs.Parse(parse.Tokens.Select(t => t.Value).ToArray()).Cluster;
            }
            catch (FormatException e)
            {
                throw new UserError(e.Message);
            }
            return Run(parse.GetValue(nats)!, options, new ServiceOptions
            {
                Device = parse.GetValue(device), Threads = parse.GetValue(threads), ExtraPluginFolder = parse.GetValue(plugins),
                ExtraModelRoot = parse.GetValue(modelsDir), Paths = PathPolicy.NamesOnly,
            }, parse.GetValue(id), parse.GetValue(drain) is var d and >= 0 ? TimeSpan.FromSeconds(d) : throw new UserError("--drain: seconds, 0 or more"));
        }));
        return command;
    }

    /// <summary>Runs a worker until Ctrl+C or SIGTERM (also what <c>serve --role worker</c> runs).</summary>
    public static int Run(string url, ClusterOptions options, ServiceOptions serviceOptions, string? id, TimeSpan? drain = null)
    {
        using var service = new GenerationService(serviceOptions);
        foreach (var notice in service.Notices) Console.Error.WriteLine($"note: {notice}");
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        NatsWorker worker;
        try
        {
            worker = NatsWorker.StartAsync(url, service, options, id, Console.WriteLine, stop.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is NATS.Client.Core.NatsException or TimeoutException)
        {
            throw new UserError($"--nats {url}: cannot reach the NATS server ({e.Message}); is nats-server running with JetStream (-js)?");
        }
        Console.WriteLine($"worker {worker.Id} taking jobs from {url}");
        try { Task.Delay(Timeout.Infinite, stop.Token).GetAwaiter().GetResult(); }
        catch (OperationCanceledException) { }
        // Stopping: no new jobs; the running one finishes and writes its end first.
        Console.WriteLine($"worker {worker.Id} stopping: finishing its job, taking no more");
        worker.StopAsync(drain ?? TimeSpan.FromSeconds(60)).GetAwaiter().GetResult();
        worker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Console.WriteLine($"worker {worker.Id} stopped after {worker.Finished} jobs");
        return ExitCodes.Ok;
    }
}
