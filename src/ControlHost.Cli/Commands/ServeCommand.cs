using System.CommandLine;
using ControlHost.Server;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost serve: the HTTP server (A1111's API and the ControlNet extension's routes).</summary>
internal static class ServeCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var port = new Option<int>("--port") { Description = "Port (default 7860)", DefaultValueFactory = _ => 7860 };
        var listen = new Option<bool>("--listen") { Description = "Listen on every interface, not only 127.0.0.1" };
        var auth = new Option<string?>("--api-auth") { Description = "user:pass[,user2:pass2]: HTTP Basic on every route" };
        var queue = new Option<int>("--queue") { Description = "Generations that may wait behind the running one (default 8); the next gets 503", DefaultValueFactory = _ => 8 };
        var modelsDir = new Option<string?>("--models-dir") { Description = "A models folder to search first (an A1111 or ComfyUI installation's)" };
        var command = new Command("serve", "Serve the A1111-compatible HTTP API");
        var allowedHosts = new Option<string?>("--allowed-hosts") { Description = "Host names (comma-separated) requests may use besides IP addresses and localhost" };
        var cors = new Option<string?>("--cors-allow-origins") { Description = "Web origins (comma-separated) allowed to call the API from a browser; none by default" };
        var maxPrompt = new Option<int?>("--max-prompt-chars") { Description = "Characters a prompt or negative prompt may have (default 16384)" };
        var limits = new Option<string[]>("--limit")
        {
            Description = "name=value: change one of the server's limits (repeatable); names: "
                          + string.Join(", ", ServerLimits.Table.Select(l => $"{l.Name} ({l.Get(new ServerLimits()).ToString(System.Globalization.CultureInfo.InvariantCulture)})")),
            AllowMultipleArgumentsPerToken = false,
        };
        var nats = new Option<string?>("--nats") { Description = "A NATS server (nats://host:4222) to share jobs with other nodes and workers; without it jobs run in this process" };
        var role = new Option<string?>("--role") { Description = "With --nats: api (take requests, run no model), worker (run jobs, no HTTP) or both (default)" };
        var prefix = new Option<string?>("--cluster-prefix") { Description = "With --nats: the cluster's prefix on the NATS server (default controlhost)" };
        var retention = new Option<double?>("--job-retention") { Description = "With --nats: days job records and images stay on the broker (default 7)" };
        var ackWait = new Option<double?>("--ack-wait") { Description = "With --nats: seconds without a progress ack before a job goes to another worker (default 30)" };
        var heartbeat = new Option<double?>("--heartbeat") { Description = "With --nats: seconds between progress acks and heartbeats (default 2)" };
        var attempts = new Option<int?>("--max-attempts") { Description = "With --nats: times a job may be started before it ends failed (default 3)" };
        foreach (var o in new Option[] { port, listen, auth, queue, modelsDir, allowedHosts, cors, maxPrompt, limits, nats, role, prefix, retention, ackWait, heartbeat, attempts })
            command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            // System.CommandLine checks the options and writes --help; the server's one parser (shared with
            // controlhost-server) turns the same words into settings.
            ServerSettings settings;
            try
            {
                settings = ServerArgs.Parse(parse.Tokens.Select(t => t.Value).ToArray());
            }
            catch (FormatException e)
            {
                throw new UserError(e.Message);
            }
            // A worker only: no HTTP server, jobs from the broker (the same as 'controlhost worker').
            if (settings.Role == ServerRole.Worker) return WorkerCommand.Run(settings.Nats!, settings.Cluster, settings.Service, null);
            var app = ServerHost.Build(settings);
            Console.WriteLine($"serving on http://{(settings.Listen ? "0.0.0.0" : "127.0.0.1")}:{settings.Port} (A1111 API under /sdapi/v1, ControlNet under /controlnet)");
            app.Run();
            return ExitCodes.Ok;
        }));
        return command;
    }
}
