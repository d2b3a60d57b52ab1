using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// Intensity (grayscale): a weighted sum of the channels, replicated to three. The default weights are ITU-R BT.601's,
/// which OpenCV's RGB2GRAY uses and the embedded intensity ControlNet was trained with.
/// </summary>
public static class Intensity
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("red_weight", OptionKind.Number, "0.299", 0, 1, "weight of the red channel"),
        new("green_weight", OptionKind.Number, "0.587", 0, 1, "weight of the green channel"),
        new("blue_weight", OptionKind.Number, "0.114", 0, 1, "weight of the blue channel"),
    ];

    /// <summary>The registry's module.</summary>
    public static readonly IPreprocessor Module = PreprocessorModule.Image("intensity",
        ["recolor_intensity", "recolor_luminance", "grayscale", "greyscale", "gray"],
        "intensity: weighted grey, replicated to three channels", Options,
        (i, o) => Run(i, o.GetDouble("red_weight"), o.GetDouble("green_weight"), o.GetDouble("blue_weight")));

    public static RgbImage Run(RgbImage input, double red = 0.299, double green = 0.587, double blue = 0.114)
    {
        var src = input.Pixels;
        var dst = new byte[src.Length];
        for (var i = 0; i < src.Length; i += 3)
        {
            var v = (byte)Math.Clamp(Math.Round(red * src[i] + green * src[i + 1] + blue * src[i + 2]), 0, 255);
            dst[i] = dst[i + 1] = dst[i + 2] = v;
        }
        return new RgbImage(input.Width, input.Height, dst);
    }
}
