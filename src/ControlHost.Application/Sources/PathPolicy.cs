namespace ControlHost.Application.Sources;

/// <summary>
/// Whether a job may name files and folders on this machine. A job always names models, ControlNets, adapters and
/// plugins by name inside the service's configured roots; a file-system path (an image path, a model folder, an
/// estimator .onnx) is honoured only where the caller allows it: the CLI does, the HTTP server does not.
/// </summary>
public sealed record PathPolicy(bool AllowFileSystemPaths)
{
    /// <summary>The CLI's: the user at the terminal may point at any file.</summary>
    public static PathPolicy Local { get; } = new(true);

    /// <summary>A server's: names only, images as bytes.</summary>
    public static PathPolicy NamesOnly { get; } = new(false);

    /// <summary>Refuses a path where paths are not allowed; <paramref name="field"/> names the request field.</summary>
    public void CheckPath(string field, string value)
    {
        if (!AllowFileSystemPaths)
            throw new Errors.BadInputException(field, $"{field}: '{value}' is a file-system path; this service takes names and image data only");
    }

    /// <summary>Whether a value a caller gave as a name looks like a path instead.</summary>
    public static bool LooksLikePath(string value) =>
        value.Contains('/') || value.Contains('\\') || value.StartsWith('.') || value.StartsWith('~') || Path.IsPathRooted(value);
}
