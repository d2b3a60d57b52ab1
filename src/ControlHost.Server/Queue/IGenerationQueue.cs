using ControlHost.Application.Generation;

namespace ControlHost.Server.Queue;

/// <summary>What the progress route reports: the running job, if any, and how far it is.</summary>
public sealed record QueueState(string? Job, int Waiting, GenerationProgress? Progress, DateTimeOffset? Started, bool Interrupted, bool Skipped);

/// <summary>The queue is full: the caller should retry later (HTTP 503).</summary>
public sealed class QueueFullException(int capacity) : Exception($"the server is busy: {capacity} generations are queued already; retry later")
{
    public int Capacity { get; } = capacity;
}

/// <summary>
/// Where generations wait and run. Kept behind this interface with nothing that only works in one process (a job is
/// a name, a function of its control and progress, and a result), so that a later step can put jobs on a shared
/// queue (Redis Streams, RabbitMQ) feeding several GPU workers: see docs/server-queue.md.
/// </summary>
public interface IGenerationQueue
{
    /// <summary>Runs the work when a worker is free.</summary>
    /// <exception cref="QueueFullException">Too many jobs wait already.</exception>
    Task<T> Run<T>(string name, Func<JobControl, IProgress<GenerationProgress>, T> work, CancellationToken cancellation);

    QueueState State { get; }

    /// <summary>Interrupts the running job (it returns the images finished so far).</summary>
    void Interrupt();

    /// <summary>Skips the image the running job is making.</summary>
    void Skip();
}
