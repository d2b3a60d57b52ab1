using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// A soft-edge map: Sobel gradient magnitude of the lightly blurred colour image (strongest channel), scaled so the
/// strongest edge is white, with a gamma that lifts faint edges. A classical stand-in for HED/PiDiNet, answering to
/// their sd-webui-controlnet module names; like them it gives thick, graded edges rather than Canny's thin binary ones.
/// </summary>
public static class SoftEdge
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("sigma", OptionKind.Number, "1.5", 0, 20, "Gaussian blur before the gradient, in pixels (0: none)"),
        new("gamma", OptionKind.Number, "0.6", 0.1, 5, "output = (magnitude / max) ^ gamma; below 1 lifts faint edges"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("softedge",
        ["softedge_hed", "softedge_pidinet", "softedge_hedsafe", "softedge_pidisafe", "hed", "pidinet", "soft_edge"],
        "soft edges: Sobel magnitude of the blurred image, normalised (classical stand-in for HED/PiDiNet)", Options,
        (i, o) => Run(i, o.GetDouble("sigma"), o.GetDouble("gamma")));

    public static RgbImage Run(RgbImage input, double sigma = 1.5, double gamma = 0.6)
    {
        using var mat = MatConversions.View(input);
        using var f = new Mat();
        mat.ConvertTo(f, MatType.CV_32FC3, 1.0 / 255);
        if (sigma > 0) Cv2.GaussianBlur(f, f, new Size(0, 0), sigma);
        using var gx = new Mat();
        using var gy = new Mat();
        Cv2.Sobel(f, gx, MatType.CV_32F, 1, 0);
        Cv2.Sobel(f, gy, MatType.CV_32F, 0, 1);
        using var magnitude = new Mat();
        Cv2.Magnitude(gx.Reshape(1), gy.Reshape(1), magnitude);
        using var perChannel = magnitude.Reshape(3);
        var channels = Cv2.Split(perChannel);
        try
        {
            using var strongest = new Mat();
            Cv2.Max(channels[0], channels[1], strongest);
            Cv2.Max(strongest, channels[2], strongest);
            Cv2.MinMaxLoc(strongest, out _, out double max);
            using var result = new Mat();
            if (max <= 1e-6)
                return RgbImage.Black(input.Width, input.Height);
            using var scaled = strongest / max;
            Cv2.Pow(scaled, gamma, result);
            using var bytes = new Mat();
            result.ConvertTo(bytes, MatType.CV_8U, 255);
            return MatConversions.ToRgb(bytes);
        }
        finally
        {
            foreach (var c in channels) c.Dispose();
        }
    }
}
