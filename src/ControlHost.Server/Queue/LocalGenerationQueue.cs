using ControlHost.Application.Generation;

namespace ControlHost.Server.Queue;

/// <summary>
/// The in-process queue: <paramref name="workers"/> generations run at once (one by default: a GPU or the CPU is
/// used best by one job at a time), at most <paramref name="capacity"/> more wait, and the next is refused.
/// </summary>
public sealed class LocalGenerationQueue(int capacity, int workers = 1) : IGenerationQueue, IDisposable
{
    private readonly SemaphoreSlim _workers = new(workers, workers);
    private readonly Lock _gate = new();
    private int _queued; // waiting or running
    private Running? _current;

    private sealed class Running(string name, JobControl control)
    {
        public string Name { get; } = name;
        public JobControl Control { get; } = control;
        public DateTimeOffset Started { get; } = DateTimeOffset.UtcNow;
        public GenerationProgress? Progress { get; set; }
        public bool Skipped { get; set; }
    }

    public async Task<T> Run<T>(string name, Func<JobControl, IProgress<GenerationProgress>, T> work, CancellationToken cancellation)
    {
        lock (_gate)
        {
            if (_queued >= capacity + workers) throw new QueueFullException(capacity);
            _queued++;
        }
        try
        {
            await _workers.WaitAsync(cancellation).ConfigureAwait(false);
            try
            {
                using var control = new JobControl();
                var running = new Running(name, control);
                lock (_gate) _current = running;
                var progress = new Progress(running);
                return await Task.Run(() => work(control, progress), cancellation).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate) _current = null;
                _workers.Release();
            }
        }
        finally
        {
            lock (_gate) _queued--;
        }
    }

    /// <summary>Progress reports stored as they come (synchronously: <see cref="Progress{T}"/> would post them). A
    /// preview is decoded every few steps only; the last one is kept until the next, as A1111's current_image is.</summary>
    private sealed class Progress(Running running) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) =>
            running.Progress = value.Preview is null && running.Progress is { Preview: { } last } ? value with { Preview = last } : value;
    }

    public QueueState State
    {
        get
        {
            lock (_gate)
            {
                var c = _current;
                return new QueueState(c?.Name, Math.Max(0, _queued - (c is null ? 0 : 1)), c?.Progress, c?.Started, c?.Control.Interrupted ?? false, c?.Skipped ?? false);
            }
        }
    }

    public void Interrupt()
    {
        lock (_gate) _current?.Control.Interrupt();
    }

    public void Skip()
    {
        lock (_gate)
        {
            if (_current is null) return;
            _current.Skipped = true;
            _current.Control.Skip();
        }
    }

    public void Dispose() => _workers.Dispose();
}
