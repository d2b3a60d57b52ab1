using ControlHost.Engine.Models;

namespace ControlHost.Application.Names;

/// <summary>
/// Model names as A1111 and the ControlNet extension show them: a SHA-256 of the weights file (the UNet's for a base
/// model, model.onnx for a ControlNet), "name [hash10]" for checkpoints and "name [hash8]" for ControlNets, and the
/// extension's matching of a requested name: exact "name [hash]", then the name, then the shortest name containing it.
/// </summary>
public static class ModelNames
{
    /// <summary>The SHA-256 of a file in lower-case hex (one helper for every model file, remembered per path, size and time).</summary>
    public static string Sha256(string path) => UserModels.BuiltModelCache.Sha256(path);

    public static string ControlNetTitle(ControlNetFolder c) => $"{c.Name} [{Sha256(c.ModelPath)[..8]}]";

    /// <summary>A user's ControlNet file, titled as the extension titles it: "stem [hash8]".</summary>
    public static string ControlNetFileTitle(string file) => $"{Path.GetFileNameWithoutExtension(file)} [{Sha256(file)[..8]}]";

    /// <summary>A user's ControlNet file a request names ("stem [hash8]", the stem, or the shortest stem containing it), or null.</summary>
    public static string? MatchControlNetFile(IEnumerable<string> files, string requested) =>
        Match(files, requested, ControlNetFileTitle, f => Path.GetFileNameWithoutExtension(f));

    /// <summary>The ControlNet a request names, or null when none matches.</summary>
    public static ControlNetFolder? MatchControlNet(IEnumerable<ControlNetFolder> all, string requested) =>
        Match(all, requested, ControlNetTitle, c => c.Name);

    /// <summary>The extension's matching: exact "name [hash]", then the name, then the shortest name containing it.</summary>
    private static T? Match<T>(IEnumerable<T> all, string requested, Func<T, string> title, Func<T, string> name) where T : class
    {
        var list = all.ToList();
        var stem = requested.Contains(" [") ? requested[..requested.IndexOf(" [", StringComparison.Ordinal)] : requested;
        return list.FirstOrDefault(c => string.Equals(title(c), requested, StringComparison.OrdinalIgnoreCase))
               ?? list.FirstOrDefault(c => string.Equals(name(c), stem, StringComparison.OrdinalIgnoreCase))
               ?? list.Where(c => name(c).Contains(stem, StringComparison.OrdinalIgnoreCase)).OrderBy(c => name(c).Length).ThenBy(name, StringComparer.Ordinal).FirstOrDefault();
    }
}
