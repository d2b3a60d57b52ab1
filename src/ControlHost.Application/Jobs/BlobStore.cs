using System.Collections.Concurrent;

namespace ControlHost.Application.Jobs;

/// <summary>
/// Content-addressed bytes: the images jobs name by hash. A store checks nothing about what it keeps; whoever reads
/// checks the hash (<see cref="JobImages"/>), so a corrupted or substituted blob is an error, not a wrong picture.
/// </summary>
public interface IBlobStore
{
    /// <summary>The bytes kept under <paramref name="sha256"/>, or null.</summary>
    ValueTask<byte[]?> GetAsync(string sha256, CancellationToken cancellation = default);

    /// <summary>Keeps the bytes under their hash (a second put of the same bytes is harmless).</summary>
    ValueTask PutAsync(string sha256, byte[] data, CancellationToken cancellation = default);
}

/// <summary>Blobs in memory, for one process.</summary>
public sealed class MemoryBlobStore : IBlobStore
{
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    public ValueTask<byte[]?> GetAsync(string sha256, CancellationToken cancellation = default) =>
        ValueTask.FromResult(_blobs.TryGetValue(sha256, out var b) ? b : null);

    public ValueTask PutAsync(string sha256, byte[] data, CancellationToken cancellation = default)
    {
        _blobs.TryAdd(sha256, data);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Blobs as files named by their hash in one folder: what the CLI keeps of the images it ran jobs on, so that
/// <c>--from FILE.png</c> repeats a job from the hashes in its record even when the files it named have changed.
/// </summary>
public sealed class FolderBlobStore(string folder) : IBlobStore
{
    public string Folder { get; } = folder;

    /// <summary>$CONTROLHOST_BLOBS, else ~/.cache/controlhost/blobs.</summary>
    public static string DefaultFolder =>
        Environment.GetEnvironmentVariable("CONTROLHOST_BLOBS") is { Length: > 0 } blobs ? blobs
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "controlhost", "blobs");

    private string PathOf(string sha256) => ImageRef.IsHash(sha256) ? Path.Combine(Folder, sha256[..2], sha256)
        : throw new ArgumentException($"'{sha256}' is not a content hash");

    public async ValueTask<byte[]?> GetAsync(string sha256, CancellationToken cancellation = default)
    {
        var path = PathOf(sha256);
        return File.Exists(path) ? await File.ReadAllBytesAsync(path, cancellation).ConfigureAwait(false) : null;
    }

    public async ValueTask PutAsync(string sha256, byte[] data, CancellationToken cancellation = default)
    {
        var path = PathOf(sha256);
        if (File.Exists(path)) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Written aside and moved: a reader never sees half a blob.
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(temp, data, cancellation).ConfigureAwait(false);
        File.Move(temp, path, overwrite: true);
    }
}
