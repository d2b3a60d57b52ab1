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
                _ => settings,
            };
        }
        return settings;
    }
}
