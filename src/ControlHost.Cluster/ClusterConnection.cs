using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Client.KeyValueStore;
using NATS.Client.ObjectStore;
using NATS.Net;

namespace ControlHost.Cluster;

/// <summary>
/// One connection to the cluster's NATS server and the things on it: the job stream and its worker consumer, the jobs,
/// keys and workers buckets, and the blob store. Created idempotently by whichever node starts first.
/// </summary>
internal sealed class ClusterConnection : IAsyncDisposable
{
    private ClusterConnection(NatsClient client, ClusterOptions options, INatsJSContext js, INatsKVStore jobs, INatsKVStore keys,
        INatsKVStore workers, INatsObjStore blobs)
    {
        Client = client;
        Options = options;
        JetStream = js;
        Jobs = new RecordStore(jobs);
        Keys = keys;
        Workers = workers;
        Blobs = new NatsBlobStore(blobs);
    }

    public NatsClient Client { get; }
    public ClusterOptions Options { get; }
    public INatsJSContext JetStream { get; }
    public RecordStore Jobs { get; }
    public INatsKVStore Keys { get; }
    public INatsKVStore Workers { get; }
    public NatsBlobStore Blobs { get; }

    /// <summary>Connects, trying again for up to <paramref name="patience"/> (default 30 s) while the server is not
    /// there yet (nodes and the broker starting together).</summary>
    public static async Task<ClusterConnection> OpenAsync(string url, ClusterOptions options, string name, CancellationToken cancellation = default,
        TimeSpan? patience = null)
    {
        var until = DateTime.UtcNow + (patience ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                return await TryOpenAsync(url, options, name, cancellation).ConfigureAwait(false);
            }
            catch (NatsException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(500, cancellation).ConfigureAwait(false);
            }
        }
    }

    private static async Task<ClusterConnection> TryOpenAsync(string url, ClusterOptions options, string name, CancellationToken cancellation)
    {
        // Reconnects for ever (a broker restart is survived), with a short wait between tries.
        var client = new NatsClient(NatsOpts.Default with
        {
            Url = url, Name = name, MaxReconnectRetry = -1, ReconnectWaitMin = TimeSpan.FromMilliseconds(200), ReconnectWaitMax = TimeSpan.FromSeconds(2),
        });
        try
        {
            await client.ConnectAsync().ConfigureAwait(false);
            var js = client.CreateJetStreamContext();
            await js.CreateOrUpdateStreamAsync(new StreamConfig(options.Stream, [options.JobSubject])
            {
                Retention = StreamConfigRetention.Workqueue, Storage = StreamConfigStorage.File, MaxMsgs = options.Capacity,
                Discard = StreamConfigDiscard.New, DuplicateWindow = TimeSpan.FromMinutes(2),
            }, cancellation).ConfigureAwait(false);
            await js.CreateOrUpdateConsumerAsync(options.Stream, new ConsumerConfig(options.Consumer)
            {
                AckPolicy = ConsumerConfigAckPolicy.Explicit, AckWait = options.AckWait, MaxDeliver = -1, MaxAckPending = 10_000,
            }, cancellation).ConfigureAwait(false);
            var kv = client.CreateKeyValueStoreContext();
            var jobs = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(options.JobsBucket) { Storage = NatsKVStorageType.File, History = 1, MaxAge = options.Retention }, cancellation).ConfigureAwait(false);
            var keys = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(options.KeysBucket) { Storage = NatsKVStorageType.File, History = 1, MaxAge = TimeSpan.FromDays(1) }, cancellation).ConfigureAwait(false);
            var workers = await kv.CreateOrUpdateStoreAsync(new NatsKVConfig(options.WorkersBucket) { Storage = NatsKVStorageType.Memory, History = 1, MaxAge = TimeSpan.FromMinutes(1) }, cancellation).ConfigureAwait(false);
            var obj = client.CreateObjectStoreContext();
            INatsObjStore blobs;
            try
            {
                blobs = await obj.CreateObjectStoreAsync(new NatsObjConfig(options.BlobsBucket) { Storage = NatsObjStorageType.File, MaxAge = options.Retention }, cancellation).ConfigureAwait(false);
            }
            catch (NatsJSApiException)
            {
                blobs = await obj.GetObjectStoreAsync(options.BlobsBucket, cancellation).ConfigureAwait(false);
            }
            return new ClusterConnection(client, options, js, jobs, keys, workers, blobs);
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask PublishEventAsync(JobEvent e, CancellationToken cancellation = default) =>
        Client.Connection.PublishAsync(Options.EventSubject(e.Id), ClusterJson.Bytes(e), cancellationToken: cancellation);

    public ValueTask DisposeAsync() => Client.DisposeAsync();
}

/// <summary>Job records in the jobs bucket, changed by compare-and-set so that API nodes and workers never overwrite
/// each other's changes.</summary>
internal sealed class RecordStore(INatsKVStore kv)
{
    public async Task<(JobRecord? Record, ulong Revision)> GetAsync(string id, CancellationToken cancellation = default)
    {
        var entry = await kv.TryGetEntryAsync<byte[]>(id, cancellationToken: cancellation).ConfigureAwait(false);
        if (!entry.Success || entry.Value.Value is not { Length: > 0 } bytes) return (null, 0);
        return (ClusterJson.Read<JobRecord>(bytes), entry.Value.Revision);
    }

    public async Task PutAsync(string id, JobRecord record, CancellationToken cancellation = default) =>
        await kv.PutAsync(id, ClusterJson.Bytes(record), cancellationToken: cancellation).ConfigureAwait(false);

    /// <summary>Applies <paramref name="change"/> to the current record until no one else changed it in between;
    /// the change returns null to leave the record as it is. Returns the record as it ends (null: no such job) and
    /// whether this change was written.</summary>
    public async Task<(JobRecord? Record, bool Written)> ChangeAsync(string id, Func<JobRecord, JobRecord?> change, CancellationToken cancellation = default)
    {
        while (true)
        {
            var (record, revision) = await GetAsync(id, cancellation).ConfigureAwait(false);
            if (record is null) return (null, false);
            var next = change(record);
            if (next is null) return (record, false);
            var result = await kv.TryUpdateAsync(id, ClusterJson.Bytes(next), revision, cancellationToken: cancellation).ConfigureAwait(false);
            if (result.Success) return (next, true);
        }
    }
}
