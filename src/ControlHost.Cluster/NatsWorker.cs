using System.Text;
using ControlHost.Abstractions;
using ControlHost.Application.Generation;
using ControlHost.Application.Jobs;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace ControlHost.Cluster;

/// <summary>
/// A worker: takes jobs from the cluster's stream and runs them on this process's generation service, one at a time.
/// <list type="bullet">
/// <item>At least once: a job is acknowledged only after its result (or failure) is written to the jobs bucket, and
/// acknowledged as in progress every heartbeat while it runs, so a lost worker's job is delivered again and a slow one
/// is not.</item>
/// <item>Never twice: a delivery whose job is finished is acknowledged without running; one whose job another worker
/// holds (its heartbeat fresh) is handed back; claiming a job is a compare-and-set on its record.</item>
/// <item>Bounded: a job started <see cref="ClusterOptions.MaxAttempts"/> times ends failed with its last error.</item>
/// <item>Routing: a worker leaves a job for a model it lacks to a live worker that has it, and a young job for a model
/// it has not loaded to an idle worker that has, handing the delivery back; otherwise it runs it (load balancing).</item>
/// </list>
/// </summary>
public sealed class NatsWorker : IAsyncDisposable
{
    private readonly ClusterConnection _c;
    private readonly JobRunner _runner;
    /// <summary>Stops taking jobs (a graceful stop lets the running one finish).</summary>
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Stops everything: the running job's writes too.</summary>
    private readonly CancellationTokenSource _exit = new();
    private readonly HashSet<string> _warm = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The models this worker's folders hold, by name (null, the default model, every worker has).</summary>
    private readonly HashSet<string> _has;
    private readonly Action<string> _log;
    private Task _loop = Task.CompletedTask;
    private Task _beat = Task.CompletedTask;
    private Task _watch = Task.CompletedTask;
    private volatile bool _busy;

    private NatsWorker(ClusterConnection connection, GenerationService service, string id, Action<string>? log)
    {
        _c = connection;
        _runner = new JobRunner(service);
        _has = new HashSet<string>(service.Catalog.ModelNames, StringComparer.OrdinalIgnoreCase);
        Id = id;
        _log = log ?? (_ => { });
    }

    public string Id { get; }

    /// <summary>Jobs this worker has finished (any outcome).</summary>
    public int Finished => _finished;
    private int _finished;

    public static async Task<NatsWorker> StartAsync(string url, GenerationService service, ClusterOptions? options = null, string? id = null,
        Action<string>? log = null, CancellationToken cancellation = default)
    {
        id ??= $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        var connection = await ClusterConnection.OpenAsync(url, options ?? new ClusterOptions(), "controlhost-worker-" + id, cancellation).ConfigureAwait(false);
        var worker = new NatsWorker(connection, service, id, log);
        worker._beat = Task.Run(worker.BeatAsync);
        worker._watch = Task.Run(worker.WatchPeersAsync);
        worker._loop = Task.Run(worker.LoopAsync);
        return worker;
    }

    private ClusterOptions Options => _c.Options;
    private static string ModelKey(string? model) => model ?? "";

    /// <summary>The worker's heartbeat in the workers bucket: its warm models and whether it is busy.</summary>
    private async Task BeatAsync()
    {
        while (!_exit.IsCancellationRequested)
        {
            await BeatOnceAsync().ConfigureAwait(false);
            try { await Task.Delay(Options.Heartbeat, _exit.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
    }

    private async Task LoopAsync()
    {
        INatsJSConsumer? consumer = null;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                consumer ??= await _c.JetStream.GetConsumerAsync(Options.Stream, Options.Consumer, _stop.Token).ConfigureAwait(false);
                var next = await consumer.NextAsync<byte[]>(opts: new NatsJSNextOpts { Expires = TimeSpan.FromSeconds(5) }, cancellationToken: _stop.Token).ConfigureAwait(false);
                if (next is { } msg) await HandleAsync(msg).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _log($"worker {Id}: {e.GetType().Name}: {e.Message}; trying again");
                consumer = null;
                try { await Task.Delay(500, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>How long a job waits for a worker that has its model loaded.</summary>
    private static readonly TimeSpan AffinityWindow = TimeSpan.FromSeconds(1);

    /// <summary>Busy or idle, told to the workers bucket at once (routing reads it).</summary>
    private bool Busy
    {
        set
        {
            _busy = value;
            _ = Task.Run(BeatOnceAsync);
        }
    }

    private async Task BeatOnceAsync()
    {
        try
        {
            List<string> warm;
            lock (_warm) warm = _warm.ToList();
            await _c.Workers.PutAsync(Id, ClusterJson.Bytes(new WorkerRecord(Id, warm, _busy, DateTimeOffset.UtcNow, _has.ToList())), cancellationToken: _exit.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // the broker is away, or the worker is stopping: the next beat tells
        }
    }

    private bool Fresh(JobStatus s) => s.Heartbeat is { } h && DateTimeOffset.UtcNow - h < Options.Heartbeat * 3 + TimeSpan.FromSeconds(1);

    private async Task HandleAsync(INatsJSMsg<byte[]> msg)
    {
        JobMessage job;
        try
        {
            job = ClusterJson.Read<JobMessage>(msg.Data ?? []);
        }
        catch (System.Text.Json.JsonException e)
        {
            // Not a job this host can read (another version, or junk on the subject): never redelivered.
            _log($"worker {Id}: a message that is not a job ({e.Message}); dropped");
            await msg.AckTerminateAsync(cancellationToken: _exit.Token).ConfigureAwait(false);
            return;
        }
        // A job for a model this worker does not have goes to a worker that has it; when no live worker has it, it runs
        // here and fails with the usual error naming the models there are.
        if (!Has(job.Document.Model) && AnotherWorkerHas(job.Document.Model))
        {
            await msg.NakAsync(new AckOpts { NakDelay = TimeSpan.FromMilliseconds(200) }, _exit.Token).ConfigureAwait(false);
            return;
        }
        // While the job is young, a worker without its model leaves it to an idle one that has it (decided before any
        // round trip to the broker); after that, any free worker takes it (a cold start is better than a long wait).
        if (msg.Metadata is { } meta && DateTimeOffset.UtcNow - meta.Timestamp < AffinityWindow && AnotherWorkerIsWarm(job.Document.Model))
        {
            // Back at once (a delayed redelivery waits for the server's redelivery timer): the warm worker's waiting pull
            // is older than this worker's next one, so it gets the job.
            await msg.NakAsync(cancellationToken: _exit.Token).ConfigureAwait(false);
            return;
        }
        var (record, _) = await _c.Jobs.GetAsync(job.Id, _exit.Token).ConfigureAwait(false);
        if (record is null || record.Status.IsFinished)
        {
            // Finished already (its result is written; a worker died before its ack), or cancelled while queued.
            await msg.AckAsync(cancellationToken: _exit.Token).ConfigureAwait(false);
            return;
        }
        var status = record.Status;
        if (status.State == JobState.Running && status.Worker != Id && Fresh(status))
        {
            // Redelivered while its worker is alive (the broker restarted, or an ack was late): not run twice.
            await msg.NakAsync(new AckOpts { NakDelay = Options.Heartbeat * 2 }, _exit.Token).ConfigureAwait(false);
            return;
        }
        if (status.Attempts >= Options.MaxAttempts)
        {
            await EndAsync(msg, job.Id, JobState.Failed, null, status.Error ?? new JobError("internal", null,
                $"job {job.Id} was started {status.Attempts} times and its worker stopped each time (the last was {status.Worker}); it will not be tried again")).ConfigureAwait(false);
            return;
        }
        await RunAsync(msg, job, status).ConfigureAwait(false);
    }

    /// <summary>The other workers whose heartbeat is recent (from the workers bucket, watched: asking costs no round trip).</summary>
    private IEnumerable<WorkerRecord> LivePeers()
    {
        var now = DateTimeOffset.UtcNow;
        return _peers.Values.Where(w => w.Id != Id && now - w.Seen < Options.Heartbeat * 3);
    }

    /// <summary>True when this worker has not run the model and an idle worker that has is alive.</summary>
    private bool AnotherWorkerIsWarm(string? model)
    {
        var key = ModelKey(model);
        lock (_warm)
            if (_warm.Contains(key)) return false;
        return LivePeers().Any(w => !w.Busy && w.Models.Contains(key, StringComparer.OrdinalIgnoreCase));
    }

    private bool Has(string? model) => model is null || _has.Contains(model);

    private bool AnotherWorkerHas(string? model) => LivePeers().Any(w => w.Has is { } has && has.Contains(model!, StringComparer.OrdinalIgnoreCase));

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, WorkerRecord> _peers = new(StringComparer.Ordinal);

    /// <summary>Keeps <see cref="_peers"/> as the workers bucket says, for as long as the worker runs.</summary>
    private async Task WatchPeersAsync()
    {
        while (!_exit.IsCancellationRequested)
        {
            try
            {
                await foreach (var entry in _c.Workers.WatchAsync<byte[]>(cancellationToken: _exit.Token).ConfigureAwait(false))
                {
                    if (entry.Operation != NATS.Client.KeyValueStore.NatsKVOperation.Put || entry.Value is not { Length: > 0 } bytes) _peers.TryRemove(entry.Key, out _);
                    else _peers[entry.Key] = ClusterJson.Read<WorkerRecord>(bytes);
                }
            }
            catch (OperationCanceledException) when (_exit.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // the broker is away: watch again
                try { await Task.Delay(500, _exit.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    private async Task RunAsync(INatsJSMsg<byte[]> msg, JobMessage job, JobStatus seen)
    {
        var id = job.Id;
        using var cancel = new CancellationTokenSource();
        using var control = new JobControl();
        using var done = new CancellationTokenSource();
        // Listen for cancel, interrupt and skip before claiming the job, so none is missed in between.
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var controls = Task.Run(async () =>
        {
            try
            {
                await using var sub = await _c.Client.Connection.SubscribeCoreAsync<byte[]>(Options.ControlSubject(id), cancellationToken: done.Token).ConfigureAwait(false);
                listening.TrySetResult();
                await foreach (var m in sub.Msgs.ReadAllAsync(done.Token).ConfigureAwait(false))
                {
                    switch (Encoding.UTF8.GetString(m.Data ?? []))
                    {
                        case "cancel": cancel.Cancel(); break;
                        case "interrupt": control.Interrupt(); break;
                        case "skip": control.Skip(); break;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                listening.TrySetResult();
            }
        });
        await listening.Task.ConfigureAwait(false);

        var attempt = seen.Attempts + 1;
        long sequence = Math.Max(seen.Sequence, JobEvent.SequenceOf(attempt, 0));
        var now = DateTimeOffset.UtcNow;
        var (claimed, written) = await _c.Jobs.ChangeAsync(id, r =>
            r.Status.IsFinished || (r.Status.State == JobState.Running && r.Status.Worker != Id && Fresh(r.Status)) || r.Status.Attempts != seen.Attempts ? null
                : r with { Status = r.Status with { State = JobState.Running, Attempts = attempt, Worker = Id, Started = now, Heartbeat = now, Sequence = sequence + 1, Progress = null } },
            _exit.Token).ConfigureAwait(false);
        if (!written)
        {
            await done.CancelAsync().ConfigureAwait(false);
            if (claimed is null || claimed.Status.IsFinished) await msg.AckAsync(cancellationToken: _exit.Token).ConfigureAwait(false);
            else await msg.NakAsync(new AckOpts { NakDelay = Options.Heartbeat }, _exit.Token).ConfigureAwait(false);
            return;
        }
        Busy = true;
        if (claimed!.Status.CancelRequested) cancel.Cancel();
        sequence++;
        var gate = new Lock();
        JobProgress? latest = null;
        await TellAsync(new JobEvent(sequence, id, "started", JobState.Running, attempt) { Name = job.Name }).ConfigureAwait(false);
        _log($"worker {Id}: job {id} started (attempt {attempt})");

        // Progress acks and the record's heartbeat, until the job ends.
        var beat = Task.Run(async () =>
        {
            while (!done.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(Options.Heartbeat, done.Token).ConfigureAwait(false);
                    await msg.AckProgressAsync(cancellationToken: done.Token).ConfigureAwait(false);
                    long seq;
                    JobProgress? p;
                    lock (gate) (seq, p) = (sequence, latest);
                    var (r, _) = await _c.Jobs.ChangeAsync(id, x => x.Status.Worker != Id || x.Status.State != JobState.Running ? null
                        : x with { Status = x.Status with { Heartbeat = DateTimeOffset.UtcNow, Progress = p, Sequence = Math.Max(x.Status.Sequence, seq) } }, done.Token).ConfigureAwait(false);
                    if (r?.Status.CancelRequested == true) await cancel.CancelAsync().ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (done.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception)
                {
                    // the broker is away: the next beat tries again
                }
            }
        });

        var progress = new ProgressRelay((p, preview) =>
        {
            var png = preview is null ? null : JobOutcomes.PreviewPng(preview);
            long seq;
            lock (gate)
            {
                latest = p;
                seq = ++sequence;
            }
            // On the generating thread, in order.
            TellAsync(new JobEvent(seq, id, "progress", JobState.Running, attempt) { Progress = p, Preview = png, Name = job.Name }).GetAwaiter().GetResult();
        });

        JobState state;
        JobResult? result = null;
        JobError? error = null;
        try
        {
            var images = await JobImages.FetchAsync(job.Document, _c.Blobs, cancel.Token).ConfigureAwait(false);
            var run = await Task.Run(() => _runner.Run(job.Document, images, progress, cancel.Token, control), CancellationToken.None).ConfigureAwait(false);
            foreach (var image in run.AllImages) await _c.Blobs.PutAsync(image.Hash, image.Data!, _exit.Token).ConfigureAwait(false);
            result = run.MapImages(i => ImageRef.ByHash(i.Hash));
            state = JobState.Succeeded;
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            state = JobState.Cancelled;
            error = new JobError("cancelled", null, $"job {id} was cancelled while it ran");
        }
        catch (Exception e)
        {
            error = JobOutcomes.ErrorOf(e);
            state = JobState.Failed;
        }
        await done.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(beat, controls).ConfigureAwait(false);
        if (state == JobState.Succeeded) lock (_warm) _warm.Add(ModelKey(job.Document.Model));
        Busy = false;

        if (state == JobState.Failed && JobOutcomes.Retryable(error!) && attempt < Options.MaxAttempts)
        {
            // An internal fault may not happen on the next try (or another machine): back in the queue, with its error.
            long seq;
            lock (gate) seq = ++sequence;
            await Durably(() => _c.Jobs.ChangeAsync(id, r => r with { Status = r.Status with { State = JobState.Queued, Worker = null, Error = error, Sequence = seq } }, _exit.Token)).ConfigureAwait(false);
            await TellAsync(new JobEvent(seq, id, "queued", JobState.Queued, attempt) { Error = error, Name = job.Name }).ConfigureAwait(false);
            await msg.NakAsync(new AckOpts { NakDelay = TimeSpan.FromSeconds(1) }, _exit.Token).ConfigureAwait(false);
            return;
        }
        lock (gate) sequence++;
        await EndAsync(msg, id, state, result, error, sequence, job.Name).ConfigureAwait(false);
    }

    /// <summary>Writes the job's end to its record, tells the watchers, then acknowledges the message: the result
    /// exists before the job leaves the stream.</summary>
    private async Task EndAsync(INatsJSMsg<byte[]> msg, string id, JobState state, JobResult? result, JobError? error, long sequence = 0, string? name = null)
    {
        var now = DateTimeOffset.UtcNow;
        var (record, _) = await Durably(() => _c.Jobs.ChangeAsync(id, r => r.Status.IsFinished ? null
            : r with { Status = r.Status with { State = state, Finished = now, Error = error, Sequence = Math.Max(sequence, r.Status.Sequence + 1) }, Result = result }, _exit.Token)).ConfigureAwait(false);
        if (record is not null && record.Status.State == state)
        {
            var s = record.Status;
            await TellAsync(new JobEvent(s.Sequence, id, state.ToString().ToLowerInvariant(), state, s.Attempts) { Error = error, Progress = s.Progress, Name = name ?? s.Name }).ConfigureAwait(false);
        }
        await Durably(async () =>
        {
            await msg.AckAsync(cancellationToken: _exit.Token).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
        Interlocked.Increment(ref _finished);
        _log($"worker {Id}: job {id} {state.ToString().ToLowerInvariant()}");
    }

    /// <summary>Publishes a job's event, best effort: events are at most once, and watchers read a job's end from its record.</summary>
    private async Task TellAsync(JobEvent e)
    {
        try
        {
            await _c.PublishEventAsync(e).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // the broker is away
        }
    }

    /// <summary>Retries a write while the broker is away (restarting), for up to five minutes.</summary>
    private async Task<T> Durably<T>(Func<Task<T>> write)
    {
        var until = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            try
            {
                return await write().ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException && DateTime.UtcNow < until && !_exit.IsCancellationRequested)
            {
                await Task.Delay(500).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Stops taking jobs, lets the running one finish and write its end (up to <paramref name="drain"/>), then
    /// leaves the cluster. A job cut off by the drain's end is redelivered to another worker after the ack wait.</summary>
    public async Task StopAsync(TimeSpan drain)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _loop.WaitAsync(drain).ConfigureAwait(false); }
        catch (TimeoutException) { _log($"worker {Id}: the running job did not finish within {drain.TotalSeconds:0} s; it goes to another worker"); }
        catch (OperationCanceledException) { }
        await _exit.CancelAsync().ConfigureAwait(false);
        try { await Task.WhenAll(_loop, _beat, _watch).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        try { await _c.Workers.DeleteAsync(Id).ConfigureAwait(false); }
        catch (Exception) { }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_exit.IsCancellationRequested) await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        await _c.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _exit.Dispose();
    }
}
