using ControlHost.Application.Generation;
using ControlHost.Cluster;

namespace ControlHost.Server;

/// <summary>What a process of a cluster does: take requests (api), run jobs (worker) or both (the default).</summary>
public enum ServerRole
{
    Both,
    Api,
    Worker,
}

/// <summary>How a server runs: where it listens, who may call it, how many jobs wait.</summary>
public sealed record ServerSettings
{
    /// <summary>A NATS server (nats://host:4222) to share jobs through; null: jobs run in this process, no broker.</summary>
    public string? Nats { get; init; }

    public ServerRole Role { get; init; } = ServerRole.Both;

    /// <summary>The cluster's names and delivery settings (with <see cref="Nats"/>).</summary>
    public Cluster.ClusterOptions Cluster { get; init; } = new();

    public int Port { get; init; } = 7860;

    /// <summary>Listen on every interface (0.0.0.0) instead of 127.0.0.1 only.</summary>
    public bool Listen { get; init; }

    /// <summary>user:pass pairs for HTTP Basic on every route (A1111's --api-auth); empty: open.</summary>
    public IReadOnlyList<(string User, string Password)> Auth { get; init; } = [];

    /// <summary>Generations that may wait behind the running one; the next gets 503.</summary>
    public int Queue { get; init; } = 8;

    public ServerLimits Limits { get; init; } = new();

    /// <summary>Host names besides IP addresses and localhost that requests may use (--allowed-hosts).</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>Web origins allowed to call the API from a browser, with CORS headers (--cors-allow-origins); none by default.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];
    public ServiceOptions Service { get; init; } = new() { Paths = Application.Sources.PathPolicy.NamesOnly };

    /// <summary>"a,b,c": the comma-separated names of --allowed-hosts and --cors-allow-origins.</summary>
    public static string[] ParseList(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>"user:pass[,user2:pass2]".</summary>
    /// <exception cref="FormatException">A pair without a colon.</exception>
    public static IReadOnlyList<(string, string)> ParseAuth(string? text) => string.IsNullOrWhiteSpace(text) ? []
        : text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(pair =>
        {
            var i = pair.IndexOf(':');
            if (i <= 0) throw new FormatException($"--api-auth '{pair}': expected user:pass");
            return (pair[..i], pair[(i + 1)..]);
        }).ToList();
}

/// <summary>The server's singletons: the one generation service, the queue, the limits, the chosen checkpoint.</summary>
public sealed class ServerContext(GenerationService service, IJobQueue jobs, ServerLimits limits, ServerSettings? settings = null)
{
    /// <summary>How the server was started (what /sdapi/v1/cmd-flags reports).</summary>
    public ServerSettings Settings { get; } = settings ?? new ServerSettings { Limits = limits };

    public GenerationService Service { get; } = service;
    /// <summary>Where every generation, placement and job-API job waits and runs (in this process, or on workers).</summary>
    public IJobQueue Jobs { get; } = jobs;
    public ServerLimits Limits { get; } = limits;

    /// <summary>Analysis work (detect, suggest-boxes) runs here one request at a time; <see cref="AnalysisWaiting"/> counts
    /// those waiting or running.</summary>
    public SemaphoreSlim AnalysisSlots { get; } = new(1, 1);
    internal int AnalysisWaiting;

    /// <summary>The checkpoint POST /sdapi/v1/options chose (null: the default model).</summary>
    public string? Checkpoint { get; set; }
}
