using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Straight line segments by OpenCV's line segment detector (LSD, von Gioi et al.) on the grey image, drawn white on
/// black. It answers to sd-webui-controlnet's "mlsd" as a classical stand-in for the learned M-LSD network: no
/// model to supply, similar maps (straight segments only), but it also outlines textures that M-LSD would skip, so
/// short segments are dropped by min_length.
/// </summary>
public static class LineSegments
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("min_length", OptionKind.Number, "8", 0, 10000, "shortest segment kept, in pixels"),
        new("thickness", OptionKind.Integer, "1", 1, 16, "line width of the drawing, in pixels"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("lsd", ["mlsd", "line_segments"],
        "straight segments by OpenCV's LSD (classical stand-in for M-LSD), white on black", Options,
        (i, o) => Run(i, o.GetDouble("min_length"), o.GetInt("thickness")));

    /// <summary>The segments found, as (x1, y1, x2, y2) in pixels.</summary>
    public static IReadOnlyList<Vec4f> Detect(RgbImage input, double minLength = 8)
    {
        using var mat = MatConversions.View(input);
        using var grey = new Mat();
        Cv2.CvtColor(mat, grey, ColorConversionCodes.RGB2GRAY);
        using var lsd = LineSegmentDetector.Create(LineSegmentDetectorModes.RefineStd);
        lsd.Detect(grey, out Vec4f[] lines, out _, out _, out _);
        return lines.Where(s => Math.Sqrt(Math.Pow(s.Item2 - s.Item0, 2) + Math.Pow(s.Item3 - s.Item1, 2)) >= minLength).ToArray();
    }

    public static RgbImage Run(RgbImage input, double minLength = 8, int thickness = 1)
    {
        using var canvas = new Mat(input.Height, input.Width, MatType.CV_8UC1, Scalar.All(0));
        foreach (var s in Detect(input, minLength))
            Cv2.Line(canvas, new Point(Math.Round(s.Item0), Math.Round(s.Item1)), new Point(Math.Round(s.Item2), Math.Round(s.Item3)),
                Scalar.All(255), thickness);
        return MatConversions.ToRgb(canvas);
    }
}
