using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Sources;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Preprocessors;

namespace ControlHost.Application.Detection;

/// <summary>What a preprocessor made of an image: the hint (or a picture of a vector), and its side outputs.</summary>
/// <param name="Vector">A global condition's vector (the colour histogram).</param>
/// <param name="Json">OpenPose JSON for pose modules.</param>
/// <param name="Note">How it was made, when users should know (a classical fallback).</param>
public sealed record DetectOutput(string Module, RgbImage Image, float[]? Vector = null, string? Json = null, string? Note = null);

/// <summary>
/// Runs one preprocessor by name on an image. A name means what it means in a unit: the condition types (the
/// plugins') first, so <c>detect depth</c> and <c>--control depth=...</c> run the same module with the same
/// fallback; then the built-in modules no condition wraps (masks, filters); mask_alpha reads the image's transparency.
/// </summary>
public sealed class Detector(Func<ConditionRegistry> conditions, PathPolicy paths, ImageBudget? budget = null, Func<IReadOnlyList<string>>? roots = null)
{
    /// <exception cref="ServiceException">Unknown module, bad option or image; typed.</exception>
    public DetectOutput Detect(string module, ImageSource image, IReadOnlyDictionary<string, string>? options = null,
        CancellationToken cancellation = default)
    {
        options ??= new Dictionary<string, string>();
        foreach (var (key, value) in options)
            if (PathPolicy.LooksLikePath(value)) paths.CheckPath(key, value);
        return Failures.Guard("module", () =>
        {
            if (module.ToLowerInvariant() is "mask_alpha" or "alpha_mask") return AlphaMask(image, options);
            var registry = conditions();
            var type = roots is null ? registry.Find(module) : ExtensionModules.Resolve(registry, roots(), module);
            if (type is null)
            {
                if (PreprocessorRegistry.Find(module) is null && roots is not null && ExtensionModules.Missing(module, roots()) is { } missing)
                    throw new BadInputException("module", missing);
                var pre = PreprocessorRegistry.Find(module) ?? throw new NotFoundException("module", "module", module,
                    ModuleDirectory.List(registry).Select(m => m.Name), "see 'controlhost modules'");
                var loaded = image.Load(paths, "image", Budget);
                if (options.TryGetValue("resolution", out var asked) && int.TryParse(asked, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var r) && r > 0)
                    Budget.ScaleShortSide(loaded.Width, loaded.Height, r, "resolution");
                var result = PreprocessorRegistry.Run(pre, loaded, options, Path.GetFileName(image.Label));
                return new DetectOutput(pre.Name, result.Image, result.Vector, result.Json, result.Note);
            }
            // A condition type runs behind its plugin's guard, as in a unit; the processor resolution every module
            // takes is applied here, as the module registry does.
            var given = new Dictionary<string, string>(options, StringComparer.OrdinalIgnoreCase);
            var resolution = 0;
            OptionValues values;
            try
            {
                if (given.Remove("resolution", out var text))
                    resolution = OptionValues.Resolve([PreprocessorRegistry.ResolutionOption], new Dictionary<string, string> { ["resolution"] = text }).GetInt("resolution");
                values = OptionValues.Resolve(type.Options, given);
            }
            catch (ArgumentException e)
            {
                throw new BadInputException("options", $"module '{type.Id}' on {Path.GetFileName(image.Label)}: {e.Message}", e);
            }
            var input = image.Load(paths, "image", Budget);
            var (hint, hintImage) = Units.HintPreparation.Prepare(type, input, values, resolution, null, preprocess: true, Budget, "resolution", cancellation);
            if (hintImage is not null) return new DetectOutput(type.Id, hintImage, null, hint.Json, hint.Note);
            var vector = hint.Vector!;
            return new DetectOutput(type.Id, PictureOf(vector), vector, hint.Json, hint.Note);
        });
    }

    private ImageBudget Budget => budget ?? ImageBudget.Default;

    /// <summary>What a global condition's vector looks like as a detected map: the colour histogram's bars, else a black square.</summary>
    public static RgbImage PictureOf(float[] vector) =>
        vector.Length == ColourHistogram.Bins ? ColourHistogram.Visualise(vector, 360, 48) : RgbImage.Black(8, 8);

    private DetectOutput AlphaMask(ImageSource image, IReadOnlyDictionary<string, string> options)
    {
        // A mask from transparency needs the alpha channel, which the RGB preprocessors never see.
        using var stream = new MemoryStream(image.Bytes(paths, "image"), writable: false);
        var (width, height) = ImageIo.Identify(stream, image.Label);
        Budget.CheckInput(width, height, "image");
        var (alpha, w, h) = ImageIo.DecodeAlpha(stream, image.Label, Budget.MaxInputPixels);
        var values = OptionValues.Resolve(Masks.AdjustOptions, options);
        var mask = Masks.Adjust(Masks.FromAlpha(alpha, w, h), values.GetInt("grow"), values.GetDouble("feather"), values.GetBool("invert"));
        return new DetectOutput("mask_alpha", mask);
    }
}
