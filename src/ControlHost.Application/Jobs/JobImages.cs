using ControlHost.Application.Errors;
using ControlHost.Application.Sources;

namespace ControlHost.Application.Jobs;

/// <summary>
/// The images of one job, fetched before it runs: a reference by hash is looked up in the blob store and its bytes
/// checked against the hash; a value is used as it is. The job then reads them as in-memory sources.
/// </summary>
public sealed class JobImages
{
    private readonly Dictionary<string, byte[]> _bytes;

    private JobImages(Dictionary<string, byte[]> bytes) => _bytes = bytes;

    /// <summary>Fetches every image <paramref name="document"/> names by hash.</summary>
    /// <exception cref="BadInputException">An image is not in the store, or its bytes do not have its hash.</exception>
    public static async Task<JobImages> FetchAsync(JobDocument document, IBlobStore? store, CancellationToken cancellation = default)
    {
        var bytes = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (field, image) in document.Images())
        {
            if (image.Data is { } data)
            {
                bytes.TryAdd(image.Hash, data);
                continue;
            }
            if (bytes.ContainsKey(image.Sha256!)) continue;
            var found = store is null ? null : await store.GetAsync(image.Sha256!, cancellation).ConfigureAwait(false);
            if (found is null)
                throw new BadInputException(field, $"{field}: image sha256:{image.Sha256} is not stored here; send the image by value (base64), or upload it first");
            if (ImageRef.HashOf(found) != image.Sha256)
                throw new BadInputException(field, $"{field}: the stored bytes of sha256:{image.Sha256} do not have that hash (the store is corrupted)");
            bytes[image.Sha256!] = found;
        }
        return new JobImages(bytes);
    }

    /// <summary>The image as a source the application layer reads, labelled with its field.</summary>
    public ImageSource Source(ImageRef image, string field) =>
        ImageSource.FromBytes(image.Data ?? _bytes[image.Sha256!], image.Name is null ? field : $"{field} ({image.Name})");

    /// <summary>Every image of <paramref name="document"/> by hash, its bytes put into <paramref name="store"/>: what
    /// travels to a worker. Images already given by hash must be in the store.</summary>
    public static async Task<JobDocument> ByHashAsync(JobDocument document, IBlobStore store, CancellationToken cancellation = default)
    {
        foreach (var (_, image) in document.Images())
            if (image.Data is { } data) await store.PutAsync(image.Hash, data, cancellation).ConfigureAwait(false);
        return document.MapImages(i => ImageRef.ByHash(i.Hash));
    }
}
