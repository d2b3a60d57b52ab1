using ControlHost.Application.Jobs;
using NATS.Client.ObjectStore;

namespace ControlHost.Cluster;

/// <summary>Images by hash in a JetStream object store: what API nodes put and workers read, on any machine.</summary>
internal sealed class NatsBlobStore(INatsObjStore store) : IBlobStore
{
    public async ValueTask<byte[]?> GetAsync(string sha256, CancellationToken cancellation = default)
    {
        try
        {
            return await store.GetBytesAsync(sha256, cancellation).ConfigureAwait(false);
        }
        catch (NatsObjNotFoundException)
        {
            return null;
        }
    }

    public async ValueTask PutAsync(string sha256, byte[] data, CancellationToken cancellation = default)
    {
        try
        {
            // The same bytes under the same hash: a second put is not needed.
            await store.GetInfoAsync(sha256, cancellationToken: cancellation).ConfigureAwait(false);
            return;
        }
        catch (NatsObjNotFoundException)
        {
        }
        await store.PutAsync(sha256, data, cancellation).ConfigureAwait(false);
    }
}
