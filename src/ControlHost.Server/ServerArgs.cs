using System.Globalization;

namespace ControlHost.Server;

/// <summary>The server's command line, shared by controlhost-server and `controlhost serve`.</summary>
public static class ServerArgs
{
    /// <exception cref="FormatException">A bad value; the message names the option.</exception>
    public static ServerSettings Parse(string[] args)
    {
        var settings = new ServerSettings();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            settings = args[i] switch
            {
                "--port" => settings with { Port = int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var p) && p is > 0 and < 65536 ? p : throw new FormatException("--port: 1..65535") },
                "--listen" => settings with { Listen = true },
                "--api-auth" => settings with { Auth = ServerSettings.ParseAuth(Value()) },
                "--queue" => settings with { Queue = int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var q) && q >= 0 ? q : throw new FormatException("--queue: a number of waiting jobs, 0 or more") },
                "--allowed-hosts" => settings with { AllowedHosts = ServerSettings.ParseList(Value()) },
                "--cors-allow-origins" => settings with { CorsOrigins = ServerSettings.ParseList(Value()) },
                "--max-prompt-chars" => settings with { Limits = settings.Limits with { MaxPromptChars = int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) && m > 0 ? m : throw new FormatException("--max-prompt-chars: a positive number") } },
                "--limit" => settings with { Limits = settings.Limits.With(Value()) },
                "--models-dir" => settings with { Service = settings.Service with { ExtraModelRoot = Value() } },
                "--nats" => settings with { Nats = Value() },
                "--role" => settings with
                {
                    Role = Value().ToLowerInvariant() switch
                    {
                        "api" => ServerRole.Api,
                        "worker" => ServerRole.Worker,
                        "both" => ServerRole.Both,
                        var r => throw new FormatException($"--role {r}: api (take requests, run no model), worker (run jobs, no HTTP) or both"),
                    },
                },
                "--cluster-prefix" => settings with { Cluster = settings.Cluster with { Prefix = Value() } },
                "--ack-wait" => settings with { Cluster = settings.Cluster with { AckWait = TimeSpan.FromSeconds(Seconds(Value(), "--ack-wait")) } },
                "--heartbeat" => settings with { Cluster = settings.Cluster with { Heartbeat = TimeSpan.FromSeconds(Seconds(Value(), "--heartbeat")) } },
                "--job-retention" => settings with { Cluster = settings.Cluster with { Retention = TimeSpan.FromDays(double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out var days) && days > 0 && days <= 3650 ? days : throw new FormatException("--job-retention: days, more than 0")) } },
                "--max-attempts" => settings with { Cluster = settings.Cluster with { MaxAttempts = int.TryParse(Value(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var a) && a > 0 ? a : throw new FormatException("--max-attempts: 1 or more") } },
                _ => settings,
            };
        }
        if (settings.Role != ServerRole.Both && settings.Nats is null)
            throw new FormatException("--role api or worker needs --nats URL: without a broker the API and the worker are one process");
        return settings;
    }

    private static double Seconds(string text, string option) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 && s < 86400 ? s : throw new FormatException($"{option}: seconds, more than 0");
}
