using System.Text.Json;
using System.Text.Json.Serialization;
using ControlHost.Application.Jobs;

namespace ControlHost.Cluster;

/// <summary>
/// The names a ControlHost cluster uses on its NATS server, and the settings both sides must agree on. Every API node
/// and worker creates what it needs on start (creating an existing stream or bucket with the same settings is a no-op).
/// </summary>
public sealed record ClusterOptions
{
    /// <summary>A prefix for every stream, bucket and subject: several clusters can share one NATS server.</summary>
    public string Prefix { get; init; } = "controlhost";

    /// <summary>Jobs that may wait in the stream; the next submission gets 503.</summary>
    public int Capacity { get; init; } = 64;

    /// <summary>How long a worker may go without acknowledging progress before its job goes to another worker.</summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a running worker acknowledges progress and renews its heartbeat.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How many times a job may be started (a worker lost mid-job, an internal fault) before it ends failed.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>How long job records and images (inputs and results) stay on the broker.</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Jobs one client may have waiting or running through one API node; the next gets 429.</summary>
    public int PerClient { get; init; } = 16;

    public string Stream => Prefix.ToUpperInvariant() + "_JOBS";
    public string JobSubject => Prefix + ".jobs.submit";
    public string JobsBucket => Prefix + "-jobs";
    public string KeysBucket => Prefix + "-keys";
    public string WorkersBucket => Prefix + "-workers";
    public string BlobsBucket => Prefix + "-blobs";
    public string Consumer => "workers";
    public string EventSubject(string id) => $"{Prefix}.events.{id}";
    public string AllEvents => $"{Prefix}.events.>";
    public string ControlSubject(string id) => $"{Prefix}.control.{id}";
}

/// <summary>What the stream carries: the job's id and document (its images by hash, in the blob bucket).</summary>
internal sealed record JobMessage(string Id, JobDocument Document, string Client, string Name);

/// <summary>What the jobs bucket keeps per job: its status and, once it succeeded, its result (images by hash).</summary>
internal sealed record JobRecord(JobStatus Status, JobResult? Result = null);

/// <summary>A worker's heartbeat in the workers bucket: the models it has run (loaded), whether it is running a job,
/// and the models it has at all (its model folders' names).</summary>
internal sealed record WorkerRecord(string Id, List<string> Models, bool Busy, DateTimeOffset Seen, List<string>? Has = null);

/// <summary>How jobs, statuses, events and results are written as JSON, on the broker and by the job API: the job
/// document's names (snake_case), states as words.</summary>
public static class ClusterJson
{
    public static readonly JsonSerializerOptions Options = new(JobDocument.Json)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static byte[] Bytes<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    public static T Read<T>(byte[] bytes) => JsonSerializer.Deserialize<T>(bytes, Options) ?? throw new JsonException($"an empty {typeof(T).Name}");
}
