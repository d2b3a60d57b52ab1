using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Canny edges as sd-webui-controlnet computes them: OpenCV Canny on the colour image (the gradient is the
/// strongest channel's), thresholds 100/200 by default; white edges on black.
/// </summary>
public static class Canny
{
    public const int DefaultLow = 100;
    public const int DefaultHigh = 200;

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("low_threshold", OptionKind.Integer, "100", 1, 255, "hysteresis low threshold"),
        new("high_threshold", OptionKind.Integer, "200", 1, 255, "hysteresis high threshold"),
    ];

    /// <summary>The registry's module.</summary>
    public static readonly IPreprocessor Module = PreprocessorModule.Image("canny", ["canny_edges"],
        "Canny edges (OpenCV, on the colour image), white on black", Options,
        (i, o) => Run(i, o.GetInt("low_threshold"), o.GetInt("high_threshold")));

    public static RgbImage Run(RgbImage input, int low = DefaultLow, int high = DefaultHigh)
    {
        if (low > high) throw new ArgumentException($"low_threshold {low} is above high_threshold {high}");
        using var mat = MatConversions.View(input);
        using var edges = new Mat();
        Cv2.Canny(mat, edges, low, high);
        return MatConversions.ToRgb(edges);
    }
}
