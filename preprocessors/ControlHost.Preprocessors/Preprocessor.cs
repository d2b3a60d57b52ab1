using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// One preprocessor (an sd-webui-controlnet "module"): declared options and a stateless run. Instances are immutable
/// and may be used from several threads.
/// </summary>
public interface IPreprocessor
{
    /// <summary>The canonical name, e.g. "canny".</summary>
    string Name { get; }

    /// <summary>Other names that resolve to it, chiefly sd-webui-controlnet's module names (e.g. "mlsd").</summary>
    IReadOnlyList<string> Aliases { get; }

    /// <summary>One line for users.</summary>
    string Description { get; }

    /// <summary>Its options: name, kind, default, range, help.</summary>
    IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>Runs on an image already at the processor resolution. Throws <see cref="ArgumentException"/> for bad
    /// options or input; the registry turns every failure into a <see cref="PreprocessorException"/>.</summary>
    PreprocessorResult Run(RgbImage input, OptionValues options);
}

/// <summary>What a preprocessor produced.</summary>
/// <param name="Image">The hint image (for global conditions a picture of the vector).</param>
/// <param name="Vector">A condition vector (the colour histogram), if the module makes one.</param>
/// <param name="Json">A JSON document beside the hint (OpenPose keypoints), if the module makes one.</param>
/// <param name="Note">Something users should know about how it was made (e.g. a classical fallback was used).</param>
public sealed record PreprocessorResult(RgbImage Image, float[]? Vector = null, string? Json = null, string? Note = null);

/// <summary>A preprocessor failed; the message names the module and the input.</summary>
public sealed class PreprocessorException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>An <see cref="IPreprocessor"/> made of its declaration and a run function: each preprocessor's file
/// declares its module with one of these next to its typed Run method.</summary>
public sealed class PreprocessorModule(string name, IReadOnlyList<string> aliases, string description,
    IReadOnlyList<OptionSpec> options, Func<RgbImage, OptionValues, PreprocessorResult> run) : IPreprocessor
{
    /// <inheritdoc />
    public string Name => name;
    /// <inheritdoc />
    public IReadOnlyList<string> Aliases => aliases;
    /// <inheritdoc />
    public string Description => description;
    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => options;
    /// <inheritdoc />
    public PreprocessorResult Run(RgbImage input, OptionValues values) => run(input, values);

    /// <summary>A module whose result is just an image.</summary>
    public static PreprocessorModule Image(string name, IReadOnlyList<string> aliases, string description,
        IReadOnlyList<OptionSpec> options, Func<RgbImage, OptionValues, RgbImage> run) =>
        new(name, aliases, description, options, (i, o) => new PreprocessorResult(run(i, o)));
}
