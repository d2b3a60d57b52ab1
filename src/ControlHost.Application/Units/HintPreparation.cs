using ControlHost.Abstractions;
using ControlHost.Application.Sources;
using ControlHost.Engine.Imaging;
using ControlHost.Preprocessors;

namespace ControlHost.Application.Units;

/// <summary>Where a hint is for: the generation's size and how the image is fitted to it.</summary>
public readonly record struct Canvas(int Width, int Height, ResizeMode Resize);

/// <summary>
/// The one way an image becomes a hint, for a unit of a generation and for /controlnet/detect alike: at a processor
/// resolution the image's short side is scaled to it (its size checked against the budget first); on
/// a canvas without one (pixel perfect) the image is fitted to the canvas first; the condition type's preprocessor
/// runs; on a canvas the hint is then fitted to it. Every resize is HintResize's (the extension's rules for maps). So detect at a unit's resolution sees the unit's pixels.
/// </summary>
public static class HintPreparation
{
    /// <param name="resolution">The processor resolution (short side); 0 for none (pixel perfect on a canvas, the input's
    /// own size without one).</param>
    /// <param name="canvas">The generation's size, or null for detect (the hint at the preprocessor's size).</param>
    /// <returns>The preprocessor's hint, and its image fitted to the canvas (or as made, without one); null for a vector.</returns>
    public static (ConditionHint Hint, RgbImage? Image) Prepare(IConditionType type, RgbImage input, OptionValues options, int resolution,
        Canvas? canvas, bool preprocess, ImageBudget budget, string field, CancellationToken cancellation)
    {
        RgbImage prepared;
        if (resolution > 0 && preprocess)
        {
            var (w, h) = budget.ScaleShortSide(input.Width, input.Height, resolution, field);
            prepared = HintResize.Resize(input, w, h);
        }
        // A global condition describes the whole picture (its colours, the object in it) and has no geometry on the
        // canvas, so pixel perfect leaves it at its own size: fitting it to the canvas would crop a wide picture.
        else if (canvas is { } c && !(type.Kind == ConditionKind.Global && preprocess)) prepared = HintResize.Fit(input, c.Width, c.Height, FitOf(c.Resize));
        else prepared = input;
        var hint = preprocess ? type.Preprocess(prepared, options, cancellation) : ConditionHint.FromImage(prepared);
        if (hint.Image is not { } raw || canvas is not { } target) return (hint, hint.Image);
        // Pixel perfect: the input was fitted already, so only a preprocessor that changed the size is stretched back.
        var pixelPerfect = resolution == 0 || !preprocess;
        return (hint, HintResize.Fit(raw, target.Width, target.Height, pixelPerfect ? HintFit.Stretch : FitOf(target.Resize)));
    }

    private static HintFit FitOf(ResizeMode mode) => mode switch
    {
        ResizeMode.JustResize => HintFit.Stretch,
        ResizeMode.CropAndResize => HintFit.Cover,
        _ => HintFit.Contain,
    };
}
