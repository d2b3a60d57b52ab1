using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using ControlHost.Application.Jobs;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace ControlHost.Cluster;

/// <summary>
/// The queue of an API node in a cluster: jobs go into a JetStream work queue that workers on any machine take from;
/// their status and results live in a JetStream key-value bucket and their images in an object store, so any API
/// node answers for any job, and a node restarts without losing one. Each node listens to every job's events to
/// stream progress and previews, and to answer A1111's progress route for jobs it does not run.
/// </summary>
public sealed class NatsJobQueue : IJobQueue
{
    private readonly ClusterConnection _c;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _listener;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, View> _views = new(StringComparer.Ordinal);
    private readonly Queue<string> _viewOrder = new();
    private readonly Dictionary<string, string> _activeHere = new(StringComparer.Ordinal); // job id -> client
    private string? _latestRunning;

    private const int MaxViews = 1024;

    /// <summary>What this node has seen of one job's events.</summary>
    private sealed class View
    {
        public readonly EventLog Events = new();
        public string? Name;
        public string? Preview;
        public JobProgress? Progress;
        public DateTimeOffset? Started;
        public JobState State;
        public bool Interrupted;
        public bool Skipped;
    }

    private NatsJobQueue(ClusterConnection connection)
    {
        _c = connection;
        _listener = Task.Run(ListenAsync);
    }

    /// <summary>Connects to the NATS server at <paramref name="url"/> and creates the cluster's streams and buckets if
    /// they are not there.</summary>
    public static async Task<NatsJobQueue> ConnectAsync(string url, ClusterOptions? options = null, CancellationToken cancellation = default) =>
        new(await ClusterConnection.OpenAsync(url, options ?? new ClusterOptions(), "controlhost-api", cancellation).ConfigureAwait(false));

    public IBlobStore Blobs => _c.Blobs;

    private async Task ListenAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                await foreach (var msg in _c.Client.Connection.SubscribeAsync<byte[]>(_c.Options.AllEvents, cancellationToken: _stop.Token).ConfigureAwait(false))
                    if (msg.Data is { } data) Observe(ClusterJson.Read<JobEvent>(data));
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // A dropped subscription (the broker restarting) is taken again; events missed meanwhile are made up
                // from the jobs bucket by whoever waits on them.
                await Task.Delay(500).ConfigureAwait(false);
            }
        }
    }

    private View ViewOf(string id)
    {
        if (_views.TryGetValue(id, out var view)) return view;
        view = new View();
        _views[id] = view;
        _viewOrder.Enqueue(id);
        while (_viewOrder.Count > MaxViews && _viewOrder.TryDequeue(out var old)) _views.Remove(old);
        return view;
    }

    /// <summary>Takes an event into the job's view; one not newer than the last seen is dropped (order across workers).</summary>
    private void Observe(JobEvent e)
    {
        lock (_gate)
        {
            var view = ViewOf(e.Id);
            if (!view.Events.Append(e)) return;
            view.State = e.State;
            view.Name = e.Name ?? view.Name;
            if (e.Progress is not null) view.Progress = e.Progress;
            if (e.Preview is not null) view.Preview = e.Preview;
            if (e.Kind == "started")
            {
                view.Started = DateTimeOffset.UtcNow;
                view.Preview = null;
                _latestRunning = e.Id;
            }
            if (EventLog.Ends(e))
            {
                _activeHere.Remove(e.Id);
                if (_latestRunning == e.Id) _latestRunning = null;
            }
        }
    }

    private EventLog EventsOf(string id)
    {
        lock (_gate) return ViewOf(id).Events;
    }

    public async Task<JobTicket> SubmitAsync(JobSubmission submission, CancellationToken cancellation = default)
    {
        var document = submission.Document;
        document.Validate();
        await CheckClientLimitAsync(submission.Client, cancellation).ConfigureAwait(false);
        var id = Guid.NewGuid().ToString("N");
        if (submission.IdempotencyKey is { Length: > 0 } key)
        {
            // The key's first submission claims it atomically; any later one (on any node) gets that job.
            var keyName = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(submission.Client + "\n" + key)));
            var claimed = await _c.Keys.TryCreateAsync(keyName, Encoding.UTF8.GetBytes(id), cancellationToken: cancellation).ConfigureAwait(false);
            if (!claimed.Success)
            {
                var existing = await _c.Keys.GetEntryAsync<byte[]>(keyName, cancellationToken: cancellation).ConfigureAwait(false);
                return new JobTicket(Encoding.UTF8.GetString(existing.Value!), true);
            }
        }
        var byHash = await JobImages.ByHashAsync(document, _c.Blobs, cancellation).ConfigureAwait(false);
        var status = new JobStatus
        {
            Id = id, State = JobState.Queued, Operation = document.Operation, Name = submission.Name, Model = document.Model, Client = submission.Client,
            Submitted = DateTimeOffset.UtcNow, Sequence = 1,
        };
        await _c.Jobs.PutAsync(id, new JobRecord(status), cancellation).ConfigureAwait(false);
        try
        {
            var ack = await _c.JetStream.PublishAsync(_c.Options.JobSubject, ClusterJson.Bytes(new JobMessage(id, byHash, submission.Client, submission.Name)),
                opts: new NatsJSPubOpts { MsgId = id }, cancellationToken: cancellation).ConfigureAwait(false);
            ack.EnsureSuccess();
        }
        catch (NatsJSApiException e) when (e.Error.Code == 503 || e.Error.ErrCode == 10077 || e.Message.Contains("maximum", StringComparison.OrdinalIgnoreCase))
        {
            await _c.Jobs.ChangeAsync(id, r => r with { Status = r.Status with { State = JobState.Failed, Finished = DateTimeOffset.UtcNow, Sequence = 2,
                Error = new JobError("internal", null, "the cluster's queue was full") } }, CancellationToken.None).ConfigureAwait(false);
            throw new QueueFullException($"the cluster is busy: {_c.Options.Capacity} jobs are queued already; retry later");
        }
        lock (_gate) _activeHere[id] = submission.Client;
        var queued = new JobEvent(1, id, "queued", JobState.Queued, 0) { Name = submission.Name };
        Observe(queued);
        await _c.PublishEventAsync(queued, cancellation).ConfigureAwait(false);
        return new JobTicket(id, false);
    }

    /// <summary>429 when the client has its share of jobs waiting or running through this node. A job whose end this
    /// node did not hear of (events are at most once) is looked up before the client is refused.</summary>
    private async Task CheckClientLimitAsync(string client, CancellationToken cancellation)
    {
        string[] mine;
        lock (_gate) mine = _activeHere.Where(kv => kv.Value == client).Select(kv => kv.Key).ToArray();
        if (mine.Length < _c.Options.PerClient) return;
        foreach (var id in mine)
            if ((await _c.Jobs.GetAsync(id, cancellation).ConfigureAwait(false)).Record is not { Status.IsFinished: false })
                lock (_gate) _activeHere.Remove(id);
        lock (_gate)
            if (_activeHere.Values.Count(c => c == client) >= _c.Options.PerClient)
                throw new ClientLimitException($"this client has {_c.Options.PerClient} jobs waiting or running (the server's per-client limit); wait for one to finish");
    }

    public async Task<JobStatus?> StatusAsync(string id, CancellationToken cancellation = default)
    {
        var (record, _) = await _c.Jobs.GetAsync(id, cancellation).ConfigureAwait(false);
        if (record is null) return null;
        lock (_gate)
        {
            // Progress between heartbeats is in this node's view of the events.
            if (_views.TryGetValue(id, out var view) && view.Progress is { } p && record.Status.State == JobState.Running)
                return record.Status with { Progress = p };
        }
        return record.Status;
    }

    /// <summary>The record once it is finished: woken by the job's events, and reading the bucket every second in
    /// case an event was missed (core NATS delivers at most once).</summary>
    private async Task<JobRecord> FinishedAsync(string id, CancellationToken cancellation)
    {
        while (true)
        {
            var changed = EventsOf(id).Changed;
            JobRecord? record;
            try
            {
                (record, _) = await _c.Jobs.GetAsync(id, cancellation).ConfigureAwait(false);
            }
            catch (Exception e) when (e is NatsException or TimeoutException)
            {
                record = null; // the broker is away: ask again
                await Task.Delay(500, cancellation).ConfigureAwait(false);
                continue;
            }
            if (record is null) throw new KeyNotFoundException($"no job '{id}'");
            if (record.Status.IsFinished) return record;
            await Task.WhenAny(changed, Task.Delay(1000, cancellation)).ConfigureAwait(false);
            cancellation.ThrowIfCancellationRequested();
        }
    }

    public async Task<JobResult> WaitAsync(string id, CancellationToken cancellation = default)
    {
        var record = await FinishedAsync(id, cancellation).ConfigureAwait(false);
        if (record.Status.State != JobState.Succeeded || record.Result is null) throw new JobFailedException(record.Status);
        // Images by value for the caller: fetched from the blob store and checked against their hashes.
        var bytes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var image in record.Result.AllImages)
        {
            var data = await _c.Blobs.GetAsync(image.Hash, cancellation).ConfigureAwait(false)
                       ?? throw new InvalidOperationException($"job {id}: result image sha256:{image.Hash} is missing from the blob store");
            if (ImageRef.HashOf(data) != image.Hash) throw new InvalidOperationException($"job {id}: result image sha256:{image.Hash} is corrupted in the blob store");
            bytes[image.Hash] = data;
        }
        return record.Result.MapImages(i => ImageRef.ByValue(bytes[i.Hash]));
    }

    public async IAsyncEnumerable<JobEvent> EventsAsync(string id, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        if ((await _c.Jobs.GetAsync(id, cancellation).ConfigureAwait(false)).Record is null) throw new KeyNotFoundException($"no job '{id}'");
        await foreach (var e in EventsOf(id).ReadAsync(EndFromBucketAsync, cancellation).ConfigureAwait(false)) yield return e;

        // Nothing heard for a second: the bucket says whether it ended while this node was not listening.
        async Task<JobEvent?> EndFromBucketAsync(long last, CancellationToken token)
        {
            JobRecord? record = null;
            try { (record, _) = await _c.Jobs.GetAsync(id, token).ConfigureAwait(false); }
            catch (Exception e) when (e is NatsException or TimeoutException) { }
            return record?.Status is { IsFinished: true } s
                ? new JobEvent(Math.Max(s.Sequence, last + 1), id, s.State.ToString().ToLowerInvariant(), s.State, s.Attempts) { Error = s.Error, Name = s.Name }
                : null;
        }
    }

    public async Task<CancelOutcome> CancelAsync(string id, CancellationToken cancellation = default)
    {
        var now = DateTimeOffset.UtcNow;
        var (record, written) = await _c.Jobs.ChangeAsync(id, r => r.Status.IsFinished ? null
            : r.Status.State == JobState.Queued
                ? r with { Status = r.Status with { State = JobState.Cancelled, CancelRequested = true, Finished = now, Sequence = r.Status.Sequence + 1,
                    Error = new JobError("cancelled", null, $"job {id} was cancelled before it ran") } }
                : r with { Status = r.Status with { CancelRequested = true } }, cancellation).ConfigureAwait(false);
        if (record is null) throw new KeyNotFoundException($"no job '{id}' (unknown, or finished long ago)");
        if (!written) return new CancelOutcome(id, "finished", record.Status.State);
        if (record.Status.State == JobState.Cancelled)
        {
            // It never runs: a worker that takes its message finds it finished and acknowledges it.
            var e = new JobEvent(record.Status.Sequence, id, "cancelled", JobState.Cancelled, record.Status.Attempts) { Error = record.Status.Error, Name = record.Status.Name };
            Observe(e);
            await _c.PublishEventAsync(e, cancellation).ConfigureAwait(false);
            return new CancelOutcome(id, "cancelled", JobState.Cancelled);
        }
        await _c.Client.Connection.PublishAsync(_c.Options.ControlSubject(id), "cancel"u8.ToArray(), cancellationToken: cancellation).ConfigureAwait(false);
        return new CancelOutcome(id, "cancelling", record.Status.State);
    }

    private async Task ControlAsync(string? id, string word, CancellationToken cancellation)
    {
        lock (_gate)
        {
            id ??= _latestRunning;
            if (id is null) return;
            var view = ViewOf(id);
            if (word == "interrupt") view.Interrupted = true;
            else view.Skipped = true;
        }
        await _c.Client.Connection.PublishAsync(_c.Options.ControlSubject(id), Encoding.UTF8.GetBytes(word), cancellationToken: cancellation).ConfigureAwait(false);
    }

    public Task InterruptAsync(string? id = null, CancellationToken cancellation = default) => ControlAsync(id, "interrupt", cancellation);

    public Task SkipAsync(string? id = null, CancellationToken cancellation = default) => ControlAsync(id, "skip", cancellation);

    public QueueSnapshot Snapshot
    {
        get
        {
            lock (_gate)
            {
                var waiting = _views.Values.Count(v => v.State == JobState.Queued);
                if (_latestRunning is null || !_views.TryGetValue(_latestRunning, out var v)) return new QueueSnapshot(null, null, waiting, null, null, null, false, false);
                return new QueueSnapshot(_latestRunning, v.Name, waiting, v.Progress, v.Preview, v.Started, v.Interrupted, v.Skipped);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _listener.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        await _c.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
