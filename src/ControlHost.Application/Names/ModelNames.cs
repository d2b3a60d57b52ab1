using System.Collections.Concurrent;
using System.Security.Cryptography;
using ControlHost.Engine.Models;

namespace ControlHost.Application.Names;

/// <summary>
/// Model names as A1111 and the ControlNet extension show them: a SHA-256 of the weights file (the UNet's for a base
/// model, model.onnx for a ControlNet), "name [hash10]" for checkpoints and "name [hash8]" for ControlNets, and the
/// extension's matching of a requested name: exact "name [hash]", then the name, then the shortest name containing it.
/// </summary>
public static class ModelNames
{
    private static readonly ConcurrentDictionary<string, string> Hashes = new();

    /// <summary>The SHA-256 of a file in lower-case hex, computed once per path and process.</summary>
    public static string Sha256(string path) => Hashes.GetOrAdd(Path.GetFullPath(path), p =>
    {
        using var stream = File.OpenRead(p);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    });

    public static string ControlNetTitle(ControlNetFolder c) => $"{c.Name} [{Sha256(c.ModelPath)[..8]}]";

    /// <summary>A user's ControlNet file, titled as the extension titles it: "stem [hash8]".</summary>
    public static string ControlNetFileTitle(string file) => $"{Path.GetFileNameWithoutExtension(file)} [{Sha256(file)[..8]}]";

    /// <summary>A user's ControlNet file a request names ("stem [hash8]", the stem, or the shortest stem containing it), or null.</summary>
    public static string? MatchControlNetFile(IEnumerable<string> files, string requested)
    {
        var list = files.ToList();
        var stem = requested.Contains(" [") ? requested[..requested.IndexOf(" [", StringComparison.Ordinal)] : requested;
        return list.FirstOrDefault(f => string.Equals(ControlNetFileTitle(f), requested, StringComparison.OrdinalIgnoreCase))
               ?? list.FirstOrDefault(f => string.Equals(Path.GetFileNameWithoutExtension(f), stem, StringComparison.OrdinalIgnoreCase))
               ?? list.Where(f => Path.GetFileNameWithoutExtension(f).Contains(stem, StringComparison.OrdinalIgnoreCase))
                   .OrderBy(f => Path.GetFileNameWithoutExtension(f).Length).ThenBy(f => f, StringComparer.Ordinal).FirstOrDefault();
    }

    /// <summary>The ControlNet a request names, or null when none matches.</summary>
    public static ControlNetFolder? MatchControlNet(IEnumerable<ControlNetFolder> all, string requested)
    {
        var list = all.ToList();
        var stem = requested.Contains(" [") ? requested[..requested.IndexOf(" [", StringComparison.Ordinal)] : requested;
        return list.FirstOrDefault(c => string.Equals(ControlNetTitle(c), requested, StringComparison.OrdinalIgnoreCase))
               ?? list.FirstOrDefault(c => string.Equals(c.Name, stem, StringComparison.OrdinalIgnoreCase))
               ?? list.Where(c => c.Name.Contains(stem, StringComparison.OrdinalIgnoreCase)).OrderBy(c => c.Name.Length).ThenBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault();
    }
}
