using ControlHost.Application.Generation;
using ControlHost.Application.Jobs;

namespace ControlHost.Cluster;

/// <summary>How many jobs a queue takes: <see cref="Workers"/> run at once, <see cref="Capacity"/> more wait, one client
/// has at most <see cref="PerClient"/> waiting or running, and the last <see cref="KeepFinished"/> finished jobs are
/// remembered for their results, while their images take at most <see cref="KeepBytes"/>.</summary>
public sealed record QueueOptions
{
    public int Capacity { get; init; } = 8;
    public int Workers { get; init; } = 1;
    public int PerClient { get; init; } = 16;
    public int KeepFinished { get; init; } = 256;
    public long KeepBytes { get; init; } = 256L << 20;
}

/// <summary>
/// The default queue: jobs run in this process on the generation service, one at a time unless told otherwise, no
/// broker. Jobs, results and events live in memory; a restart forgets them (the NATS queue is the one that survives).
/// </summary>
public sealed class InProcessJobQueue(GenerationService service, QueueOptions? options = null, IBlobStore? blobs = null) : IJobQueue
{
    private readonly QueueOptions _options = options ?? new QueueOptions();
    private readonly JobRunner _runner = new(service);
    private readonly SemaphoreSlim _slots = new((options ?? new QueueOptions()).Workers);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _jobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _keys = new(StringComparer.Ordinal);
    private readonly Queue<string> _finished = new();
    private long _finishedBytes;
    private Entry? _latestRunning;
    private readonly HashSet<Task> _runs = [];

    /// <summary>Where images submitted by hash are looked up (POST /controlhost/v1/blobs puts them there).</summary>
    public IBlobStore Blobs { get; } = blobs ?? new MemoryBlobStore();

    private sealed class Entry(string id, JobSubmission submission)
    {
        public readonly string Id = id;
        public readonly string Client = submission.Client;

        /// <summary>The job's document, let go when it finishes (its images by value can be large).</summary>
        public JobDocument? Document = submission.Document;
        public readonly CancellationTokenSource Cancel = new();
        public readonly JobControl Control = new();
        public readonly TaskCompletionSource<JobResult> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly EventLog Events = new();
        public JobStatus Status = null!;
        public string? Preview;
        public long Counter;
        public string? Key;
        public long Bytes;
    }

    public Task<JobTicket> SubmitAsync(JobSubmission submission, CancellationToken cancellation = default)
    {
        submission.Document.Validate();
        Entry entry;
        lock (_gate)
        {
            var key = submission.IdempotencyKey is { Length: > 0 } k ? submission.Client + "\n" + k : null;
            if (key is not null && _keys.TryGetValue(key, out var existing) && _jobs.ContainsKey(existing))
                return Task.FromResult(new JobTicket(existing, true));
            var active = _jobs.Values.Where(e => !e.Status.IsFinished).ToList();
            if (active.Count >= _options.Capacity + _options.Workers)
                throw new QueueFullException($"the server is busy: {_options.Capacity} jobs are queued already; retry later");
            if (active.Count(e => e.Client == submission.Client) >= _options.PerClient)
                throw new ClientLimitException($"this client has {_options.PerClient} jobs waiting or running (the server's per-client limit); wait for one to finish");
            var id = Guid.NewGuid().ToString("N");
            entry = new Entry(id, submission);
            entry.Status = new JobStatus
            {
                Id = id, State = JobState.Queued, Operation = submission.Document.Operation, Name = submission.Name, Model = submission.Document.Model,
                Client = submission.Client, Submitted = DateTimeOffset.UtcNow,
            };
            _jobs[id] = entry;
            if (key is not null) _keys[key] = id;
            entry.Key = key;
            Publish(entry, "queued", s => s);
        }
        var run = Task.Run(() => RunAsync(entry), CancellationToken.None);
        lock (_gate) _runs.Add(run);
        _ = run.ContinueWith(t => { lock (_gate) _runs.Remove(t); }, TaskScheduler.Default);
        return Task.FromResult(new JobTicket(entry.Id, false));
    }

    private async Task RunAsync(Entry entry)
    {
        try
        {
            await _slots.WaitAsync(entry.Cancel.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Finish(entry, JobState.Cancelled, null, new JobError("cancelled", null, $"job {entry.Id} was cancelled before it ran"));
            return;
        }
        try
        {
            lock (_gate)
            {
                Publish(entry, "started", s => s with { State = JobState.Running, Attempts = 1, Started = DateTimeOffset.UtcNow, Worker = "in-process" });
                _latestRunning = entry;
            }
            var document = entry.Document!;
            var images = await JobImages.FetchAsync(document, Blobs, entry.Cancel.Token).ConfigureAwait(false);
            var progress = new ProgressRelay((p, preview) =>
            {
                var png = preview is null ? null : JobOutcomes.PreviewPng(preview);
                lock (_gate)
                {
                    if (png is not null) entry.Preview = png;
                    Publish(entry, "progress", s => s with { Progress = p }, png);
                }
            });
            var result = await Task.Run(() => _runner.Run(document, images, progress, entry.Cancel.Token, entry.Control), CancellationToken.None).ConfigureAwait(false);
            Finish(entry, JobState.Succeeded, result, null);
        }
        catch (OperationCanceledException) when (entry.Cancel.IsCancellationRequested)
        {
            Finish(entry, JobState.Cancelled, null, new JobError("cancelled", null, $"job {entry.Id} was cancelled while it ran"));
        }
        catch (Exception e)
        {
            Finish(entry, JobState.Failed, null, JobOutcomes.ErrorOf(e));
        }
        finally
        {
            _slots.Release();
        }
    }

    private void Finish(Entry entry, JobState state, JobResult? result, JobError? error)
    {
        lock (_gate)
        {
            Publish(entry, state.ToString().ToLowerInvariant(), s => s with { State = state, Error = error, Finished = DateTimeOffset.UtcNow });
            if (_latestRunning == entry) _latestRunning = null;
            entry.Document = null;
            _finished.Enqueue(entry.Id);
            entry.Bytes = result?.AllImages.Sum(i => (long)(i.Data?.Length ?? 0)) ?? 0;
            _finishedBytes += entry.Bytes;
            // The oldest finished jobs are forgotten (their results, events and idempotency keys) past either bound; the
            // one that just finished stays, so that a caller about to wait for it finds it.
            while ((_finished.Count > _options.KeepFinished || _finishedBytes > _options.KeepBytes) && _finished.Count > 1 && _finished.TryDequeue(out var old))
            {
                if (!_jobs.Remove(old, out var gone)) continue;
                _finishedBytes -= gone.Bytes;
                if (gone.Key is not null) _keys.Remove(gone.Key);
                gone.Control.Dispose();
            }
        }
        if (result is not null) entry.Result.TrySetResult(result);
        else entry.Result.TrySetException(new JobFailedException(entry.Status));
    }

    /// <summary>Changes the status and records the event (under the gate).</summary>
    private static void Publish(Entry entry, string kind, Func<JobStatus, JobStatus> change, string? preview = null)
    {
        var sequence = JobEvent.SequenceOf(1, ++entry.Counter);
        entry.Status = change(entry.Status) with { Sequence = sequence };
        entry.Events.Append(new JobEvent(sequence, entry.Id, kind, entry.Status.State, entry.Status.Attempts)
            { Progress = entry.Status.Progress, Preview = preview, Error = entry.Status.Error });
    }

    private Entry Find(string id)
    {
        lock (_gate) return _jobs.TryGetValue(id, out var e) ? e : throw new KeyNotFoundException($"no job '{id}' (unknown, or finished long ago)");
    }

    public Task<JobStatus?> StatusAsync(string id, CancellationToken cancellation = default)
    {
        lock (_gate) return Task.FromResult(_jobs.TryGetValue(id, out var e) ? e.Status : null);
    }

    public Task<JobResult> WaitAsync(string id, CancellationToken cancellation = default) => Find(id).Result.Task.WaitAsync(cancellation);

    public IAsyncEnumerable<JobEvent> EventsAsync(string id, CancellationToken cancellation = default) =>
        Find(id).Events.ReadAsync(cancellation: cancellation);

    public Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellation = default)
    {
        var entry = Find(id);
        lock (_gate)
        {
            if (entry.Status.IsFinished) return Task.FromResult(new CancelOutcome(id, "finished", entry.Status.State));
            entry.Status = entry.Status with { CancelRequested = true };
            var outcome = entry.Status.State == JobState.Queued ? "cancelled" : "cancelling";
            entry.Cancel.Cancel();
            return Task.FromResult(new CancelOutcome(id, outcome, entry.Status.State));
        }
    }

    private Entry? Running(string? id)
    {
        lock (_gate) return id is null ? _latestRunning : _jobs.TryGetValue(id, out var e) && e.Status.State == JobState.Running ? e : null;
    }

    public Task InterruptAsync(string? id = null, CancellationToken cancellation = default)
    {
        if (Running(id) is { } e)
        {
            e.Control.Interrupt();
            lock (_gate) e.Status = e.Status with { Interrupted = true };
        }
        return Task.CompletedTask;
    }

    public Task SkipAsync(string? id = null, CancellationToken cancellation = default)
    {
        if (Running(id) is { } e)
        {
            e.Control.Skip();
            lock (_gate) e.Status = e.Status with { Skipped = true };
        }
        return Task.CompletedTask;
    }

    public QueueSnapshot Snapshot
    {
        get
        {
            lock (_gate)
            {
                var waiting = _jobs.Values.Count(e => e.Status.State == JobState.Queued);
                var r = _latestRunning;
                return new QueueSnapshot(r?.Id, r?.Status.Name, waiting, r?.Status.Progress, r?.Preview, r?.Status.Started, r?.Status.Interrupted ?? false,
                    r?.Status.Skipped ?? false);
            }
        }
    }

    /// <summary>Cancels what waits or runs and waits for it to stop: the service it runs on is disposed next.</summary>
    public async ValueTask DisposeAsync()
    {
        Task[] runs;
        lock (_gate)
        {
            foreach (var e in _jobs.Values)
                if (!e.Status.IsFinished) e.Cancel.Cancel();
            runs = _runs.ToArray();
        }
        await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(false);
    }
}
