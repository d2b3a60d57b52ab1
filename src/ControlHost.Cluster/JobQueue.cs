using System.Text.Json.Serialization;
using ControlHost.Application.Jobs;

namespace ControlHost.Cluster;

public enum JobState
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>A job to queue: its document, the client's idempotency key (the same key twice is one job), who asked
/// (for per-client limits) and a name for progress lines ("txt2img").</summary>
public sealed record JobSubmission(JobDocument Document, string? IdempotencyKey = null, string Client = "", string Name = "job");

/// <summary>The job's id; <see cref="Existing"/> when an earlier submission with the same key made it.</summary>
public sealed record JobTicket(string Id, bool Existing);

/// <summary>Image i of n (1-based) and step j of m within it.</summary>
public sealed record JobProgress(int Image, int Images, int Step, int Steps)
{
    /// <summary>The fraction done over all images.</summary>
    public double Fraction => Steps <= 0 || Images <= 0 ? 0 : ((Image - 1) * (double)Steps + Step) / ((double)Steps * Images);
}

/// <summary>Why a job failed: "bad_input", "not_found", "internal" or "cancelled", the field and what to do.</summary>
public sealed record JobError(string Kind, string? Field, string Message)
{
    public List<JobFieldError>? Fields { get; init; }
}

/// <summary>Where a job stands; what GET /controlhost/v1/jobs/{id} answers and what a broker keeps.</summary>
public sealed record JobStatus
{
    public required string Id { get; init; }
    public JobState State { get; init; }
    public string Operation { get; init; } = "";
    public string Name { get; init; } = "job";
    public string? Model { get; init; }
    public string Client { get; init; } = "";

    /// <summary>How many times a worker started it (more than one after a worker was lost).</summary>
    public int Attempts { get; init; }
    public string? Worker { get; init; }
    public DateTimeOffset Submitted { get; init; }
    public DateTimeOffset? Started { get; init; }
    public DateTimeOffset? Finished { get; init; }

    /// <summary>When the running worker last said it was alive.</summary>
    public DateTimeOffset? Heartbeat { get; init; }
    public JobProgress? Progress { get; init; }
    public JobError? Error { get; init; }
    public bool CancelRequested { get; init; }
    public bool Interrupted { get; init; }
    public bool Skipped { get; init; }

    /// <summary>The sequence number of the job's last event.</summary>
    public long Sequence { get; init; }

    /// <summary>Succeeded, failed or cancelled: nothing more happens to it.</summary>
    [JsonIgnore]
    public bool IsFinished => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}

/// <summary>
/// One thing that happened to a job, numbered: "queued", "started" (again after a worker was lost, with the next
/// attempt), "progress" (with a preview PNG now and then), "succeeded", "failed", "cancelled". Sequence numbers only
/// grow for a job, across workers: a watcher that drops any event not newer than the last it saw sees them in order.
/// </summary>
public sealed record JobEvent(long Sequence, string Id, string Kind, JobState State, int Attempt)
{
    public JobProgress? Progress { get; init; }

    /// <summary>The job's name ("txt2img", "place"), for progress lines on nodes that did not submit it.</summary>
    public string? Name { get; init; }

    /// <summary>A preview PNG (base64), every few steps when the job asks for previews.</summary>
    public string? Preview { get; init; }
    public JobError? Error { get; init; }

    /// <summary>A sequence number that grows across attempts: attempt a, counter n.</summary>
    public static long SequenceOf(int attempt, long counter) => attempt * 1_000_000_000L + counter;
}

/// <summary>The job A1111's progress route reports: the running one this node knows of, and how many wait.</summary>
public sealed record QueueSnapshot(string? Id, string? Name, int Waiting, JobProgress? Progress, string? Preview, DateTimeOffset? Started,
    bool Interrupted, bool Skipped);

/// <summary>The queue is full: the caller should retry later (HTTP 503).</summary>
public sealed class QueueFullException(string message) : Exception(message);

/// <summary>One client has as many jobs waiting or running as it may (HTTP 429).</summary>
public sealed class ClientLimitException(string message) : Exception(message);

/// <summary>A job that ended without a result: failed (with its error) or cancelled.</summary>
public sealed class JobFailedException(JobStatus status) : Exception(status.Error?.Message ?? $"job {status.Id} {status.State.ToString().ToLowerInvariant()}")
{
    public JobStatus Status { get; } = status;
}

/// <summary>What a cancel did: "cancelled" (it was queued), "cancelling" (it was running and stops at its next step),
/// or "finished" (too late: it had ended).</summary>
public sealed record CancelOutcome(string Id, string Outcome, JobState State);

/// <summary>
/// Where jobs wait and run, in this process or across machines. Every route, the CLI's serve and the worker go
/// through it; a job is a <see cref="JobDocument"/> in and a <see cref="JobResult"/> out.
/// </summary>
public interface IJobQueue : IAsyncDisposable
{
    /// <summary>Queues the job and returns its id at once.</summary>
    /// <exception cref="QueueFullException">Too many jobs wait already.</exception>
    /// <exception cref="ClientLimitException">This client has too many jobs waiting or running.</exception>
    Task<JobTicket> SubmitAsync(JobSubmission submission, CancellationToken cancellation = default);

    /// <summary>The job's status, or null for an id this queue does not know.</summary>
    Task<JobStatus?> StatusAsync(string id, CancellationToken cancellation = default);

    /// <summary>The job's result, its images by value, once it has one.</summary>
    /// <exception cref="JobFailedException">It failed or was cancelled.</exception>
    /// <exception cref="KeyNotFoundException">No such job.</exception>
    Task<JobResult> WaitAsync(string id, CancellationToken cancellation = default);

    /// <summary>The job's events from the first this node has, ending with the one that finishes it.</summary>
    IAsyncEnumerable<JobEvent> EventsAsync(string id, CancellationToken cancellation = default);

    /// <summary>Cancels a queued job (it never runs) or a running one (it stops at its next step, without a result).</summary>
    /// <exception cref="KeyNotFoundException">No such job.</exception>
    Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellation = default);

    /// <summary>A1111's interrupt: the running job (this one, or the latest this node started) stops and returns the
    /// images made so far.</summary>
    Task InterruptAsync(string? id = null, CancellationToken cancellation = default);

    /// <summary>A1111's skip: the running job abandons the image it is making and goes on with the next.</summary>
    Task SkipAsync(string? id = null, CancellationToken cancellation = default);

    /// <summary>The running job A1111's progress route reports.</summary>
    QueueSnapshot Snapshot { get; }

    /// <summary>Where images submitted by hash are kept (POST /controlhost/v1/blobs puts them there).</summary>
    IBlobStore Blobs { get; }
}
