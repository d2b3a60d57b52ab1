using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Every built-in preprocessor, found by name or by an sd-webui-controlnet module name, and the one way to run
/// them: options validated, the processor resolution applied, and every failure turned into a
/// <see cref="PreprocessorException"/> that names the module and the input.
/// </summary>
public static class PreprocessorRegistry
{
    /// <summary>The option every module takes: the short side it works at (0: the input's own size).</summary>
    public static readonly OptionSpec ResolutionOption =
        new("resolution", OptionKind.Integer, "0", 0, 4096, "processor resolution: the short side to work at (0: the input's size)");

    public static IReadOnlyList<IPreprocessor> All { get; } =
    [
        Canny.Module, HoughLines.Module, LineSegments.Module, Scribble.Module, SoftEdge.Module, Intensity.Module,
        OpenPoseEstimator.Module, Depth.Module, Depth.ReadyModule, Segmentation.Module,
        ColourHistogram.Module, ColourPalette.Module, ColourGrid.Module, ObjectReference.Module,
        Shuffle.Module, TileResample.Module, Invert.Module, Threshold.Module, Blur.Module, Passthrough.Module,
        Masks.BoxModule, Masks.PolygonModule, Masks.PaintedModule, Masks.InpaintModule,
    ];

    /// <summary>A module by name or alias (case-insensitive), or null.</summary>
    public static IPreprocessor? Find(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? All.FirstOrDefault(p => p.Aliases.Any(a => string.Equals(a, name, StringComparison.OrdinalIgnoreCase)));

    /// <summary>A module's options plus the shared resolution option.</summary>
    public static IReadOnlyList<OptionSpec> OptionsOf(IPreprocessor module) => [.. module.Options, ResolutionOption];

    /// <summary>
    /// Runs a module. <paramref name="inputName"/> names the input in messages (a file name, "unit 2").
    /// </summary>
    /// <exception cref="PreprocessorException">Unknown module, bad option, bad input or a failure inside.</exception>
    public static PreprocessorResult Run(string module, RgbImage input, IReadOnlyDictionary<string, string>? options = null,
        string inputName = "the input")
    {
        var pre = Find(module) ?? throw new PreprocessorException(
            $"unknown module '{module}' (known: {string.Join(", ", All.Select(p => p.Name))}; see 'controlhost modules')");
        return Run(pre, input, options, inputName);
    }

    /// <summary>Runs a given module (a built-in one or a plugin's) the same way.</summary>
    /// <exception cref="PreprocessorException">Bad option, bad input or a failure inside.</exception>
    public static PreprocessorResult Run(IPreprocessor pre, RgbImage input, IReadOnlyDictionary<string, string>? options = null,
        string inputName = "the input")
    {
        try
        {
            var values = OptionValues.Resolve(OptionsOf(pre), options);
            var resolution = values.GetInt("resolution");
            var image = resolution > 0 ? Geometry.ResizeShortSide(input, resolution) : input;
            return pre.Run(image, values);
        }
        catch (Exception e) when (e is ArgumentException or OpenCVException or InvalidOperationException or FormatException or OverflowException
                                      or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or IOException)
        {
            throw new PreprocessorException($"module '{pre.Name}' on {inputName} ({input.Width}x{input.Height}): {e.Message}", e);
        }
    }
}
