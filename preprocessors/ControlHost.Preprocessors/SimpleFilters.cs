using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>Invert: 255 minus every channel (sd-webui-controlnet's "invert", for white-background line drawings).</summary>
public static class Invert
{
    public static readonly IPreprocessor Module = PreprocessorModule.Image("invert", ["invert"],
        "invert: 255 minus each channel (black lines on white become white on black)", [], (i, _) => Run(i));

    public static RgbImage Run(RgbImage input)
    {
        var dst = new byte[input.Pixels.Length];
        for (var i = 0; i < dst.Length; i++) dst[i] = (byte)(255 - input.Pixels[i]);
        return new RgbImage(input.Width, input.Height, dst);
    }
}

/// <summary>Threshold: grey (BT.601) above the threshold becomes white, the rest black.</summary>
public static class Threshold
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("threshold", OptionKind.Integer, "127", 0, 255, "grey values above this become white"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("threshold", ["threshold", "binary"],
        "threshold: grey above the threshold white, else black", Options, (i, o) => Run(i, o.GetInt("threshold")));

    public static RgbImage Run(RgbImage input, int threshold = 127)
    {
        using var mat = MatConversions.View(input);
        using var grey = new Mat();
        Cv2.CvtColor(mat, grey, ColorConversionCodes.RGB2GRAY);
        using var binary = new Mat();
        Cv2.Threshold(grey, binary, threshold, 255, ThresholdTypes.Binary);
        return MatConversions.ToRgb(binary);
    }
}

/// <summary>Gaussian blur (sd-webui-controlnet's "blur_gaussian").</summary>
public static class Blur
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("sigma", OptionKind.Number, "9", 0.1, 100, "Gaussian sigma in pixels"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("blur", ["blur_gaussian", "gaussian_blur"],
        "Gaussian blur", Options, (i, o) => Run(i, o.GetDouble("sigma")));

    public static RgbImage Run(RgbImage input, double sigma = 9)
    {
        using var mat = MatConversions.View(input);
        using var blurred = new Mat();
        Cv2.GaussianBlur(mat, blurred, new Size(0, 0), sigma, sigma, BorderTypes.Reflect101);
        return MatConversions.ToRgb(blurred);
    }
}

/// <summary>
/// Tile resample (sd-webui-controlnet's "tile_resample"): the image shrunk by a rate with area averaging, so a tile
/// ControlNet gets the coarse content and fills in detail; the host enlarges the hint to the generation size.
/// </summary>
public static class TileResample
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("down_sampling_rate", OptionKind.Number, "1", 1, 8, "shrink factor"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("tile", ["tile_resample"],
        "tile resample: the image shrunk by a rate", Options, (i, o) => Run(i, o.GetDouble("down_sampling_rate")));

    public static RgbImage Run(RgbImage input, double rate = 1)
    {
        if (rate < 1) throw new ArgumentException($"down_sampling_rate {rate} must be at least 1");
        return Geometry.Resize(input, Math.Max(1, (int)Math.Round(input.Width / rate)), Math.Max(1, (int)Math.Round(input.Height / rate)));
    }
}

/// <summary>
/// sd-webui-controlnet's tile colour fix modules: the hint is the image itself; the work happens during sampling, where
/// the engine holds the estimate's colours to the hint's (<c>ColourFix</c> in the engine). "variation" is the blur
/// radius in latent cells (the extension's threshold_a), "sharpness" the "+sharp" module's threshold_b.
/// </summary>
public static class TileColourFix
{
    private static readonly OptionSpec Variation = new("variation", OptionKind.Integer, "8", 3, 32,
        "blur radius in latent cells: colours are held to the image's below this scale");

    public static readonly IReadOnlyList<OptionSpec> Options = [Variation];

    public static readonly IReadOnlyList<OptionSpec> SharpOptions =
        [Variation, new("sharpness", OptionKind.Number, "1", 0, 2, "how much detail the unconditional estimate loses (sharper with guidance)")];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("tile_colorfix", [],
        "tile with colour fix: the image as the hint, its colours held during sampling", Options, (i, _) => i);

    public static readonly IPreprocessor SharpModule = PreprocessorModule.Image("tile_colorfix+sharp", [],
        "tile with colour fix and sharpening", SharpOptions, (i, _) => i);
}

/// <summary>The image as it is (sd-webui-controlnet's "none": the user's image is already a hint).</summary>
public static class Passthrough
{
    public static readonly IPreprocessor Module = PreprocessorModule.Image("none", ["none", "passthrough"],
        "no preprocessing: the image is already the hint", [], (i, _) => i);
}
