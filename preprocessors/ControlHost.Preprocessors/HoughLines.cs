using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Straight lines: probabilistic Hough transform (HoughLinesP) on the Canny edges of the colour image, drawn
/// 1 px white on black. The defaults are the ones the embedded lines ControlNet was trained with.
/// </summary>
public static class HoughLines
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("threshold", OptionKind.Integer, "20", 1, 1000, "accumulator votes a line needs"),
        new("min_length", OptionKind.Number, "10", 0, 10000, "shortest line kept, in pixels"),
        new("max_gap", OptionKind.Number, "4", 0, 10000, "largest gap bridged within a line, in pixels"),
        new("rho", OptionKind.Number, "1", 0.1, 100, "distance resolution of the accumulator, in pixels"),
        new("theta_degrees", OptionKind.Number, "1", 0.01, 90, "angle resolution of the accumulator, in degrees"),
    ];

    /// <summary>The registry's module.</summary>
    public static readonly IPreprocessor Module = PreprocessorModule.Image("lines", ["hough", "straight_lines"],
        "straight lines: HoughLinesP on Canny edges, 1 px white on black", Options,
        (i, o) => Run(i, o.GetInt("threshold"), o.GetDouble("min_length"), o.GetDouble("max_gap"), o.GetDouble("rho"),
            o.GetDouble("theta_degrees")));

    public static RgbImage Run(RgbImage input, int threshold = 20, double minLength = 10, double maxGap = 4, double rho = 1,
        double thetaDegrees = 1)
    {
        using var mat = MatConversions.View(input);
        using var edges = new Mat();
        Cv2.Canny(mat, edges, Canny.DefaultLow, Canny.DefaultHigh);
        using var canvas = new Mat(input.Height, input.Width, MatType.CV_8UC1, Scalar.All(0));
        foreach (var s in Cv2.HoughLinesP(edges, rho, thetaDegrees * Math.PI / 180, threshold, minLength, maxGap))
            Cv2.Line(canvas, s.P1, s.P2, Scalar.All(255), 1);
        return MatConversions.ToRgb(canvas);
    }
}
