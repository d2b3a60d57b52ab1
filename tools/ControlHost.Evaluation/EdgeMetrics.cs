using ControlHost.Abstractions;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Evaluation;

/// <summary>Precision, recall and F1 of edges with a pixel tolerance.</summary>
public readonly record struct EdgeScore(double Precision, double Recall, double F1);

public static class EdgeMetrics
{
    /// <summary>
    /// F1 between a control edge map and the Canny edges (100/200) of a generated image: an edge pixel counts as
    /// matched when the other map has an edge within <paramref name="tolerance"/> pixels (Euclidean).
    /// </summary>
    public static EdgeScore CannyF1(RgbImage controlEdges, RgbImage generated, int tolerance = 2) =>
        F1(controlEdges, Canny.Run(generated), tolerance);

    public static EdgeScore F1(RgbImage reference, RgbImage predicted, int tolerance)
    {
        using var refMask = Mask(reference);
        using var predMask = Mask(predicted);
        var refCount = Cv2.CountNonZero(refMask);
        var predCount = Cv2.CountNonZero(predMask);
        if (refCount == 0 || predCount == 0) return new EdgeScore(0, 0, 0);
        var precision = (double)Matched(predMask, refMask, tolerance) / predCount;
        var recall = (double)Matched(refMask, predMask, tolerance) / refCount;
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new EdgeScore(precision, recall, f1);
    }

    private static Mat Mask(RgbImage image)
    {
        using var mat = MatConversions.View(image);
        using var grey = new Mat();
        Cv2.CvtColor(mat, grey, ColorConversionCodes.RGB2GRAY);
        var mask = new Mat();
        Cv2.Threshold(grey, mask, 127, 255, ThresholdTypes.Binary);
        return mask;
    }

    /// <summary>How many set pixels of <paramref name="from"/> lie within the tolerance of a set pixel of <paramref name="to"/>.</summary>
    private static int Matched(Mat from, Mat to, int tolerance)
    {
        using var inverted = new Mat();
        Cv2.BitwiseNot(to, inverted);
        using var distance = new Mat();
        Cv2.DistanceTransform(inverted, distance, DistanceTypes.L2, DistanceTransformMasks.Precise);
        using var near = new Mat();
        Cv2.Threshold(distance, near, tolerance + 1e-3, 255, ThresholdTypes.BinaryInv);
        using var near8 = new Mat();
        near.ConvertTo(near8, MatType.CV_8U);
        using var both = new Mat();
        Cv2.BitwiseAnd(from, near8, both);
        return Cv2.CountNonZero(both);
    }
}
