using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Semantic segmentation in the ADE20K palette (what segmentation ControlNets read). With a user-supplied ADE20K
/// model (ONNX, logits [1, 150, h, w]) each pixel takes its most likely class's colour. Without one, a classical
/// fallback: k-means colour clustering in CIELab, regions coloured with palette entries by size (largest first) —
/// regions, not classes, and the result says so.
/// </summary>
public static class Segmentation
{
    public const string FallbackNote = "classical fallback (k-means colour clustering in Lab): regions, not ADE20K classes; supply estimator=PATH.onnx for real classes";

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("estimator", OptionKind.Text, "", null, null, "path of an ADE20K segmentation model (.onnx, logits [1,150,h,w]; optional .json beside it)"),
        new("clusters", OptionKind.Integer, "6", 2, 32, "fallback only: number of colour clusters"),
        new("seed", OptionKind.Integer, "0", 0, int.MaxValue, "fallback only: k-means seed"),
    ];

    public static readonly IPreprocessor Module = new PreprocessorModule("seg", ["seg_ofade20k", "seg_ufade20k", "seg_ofcoco", "segmentation"],
        "segmentation in the ADE20K palette: a user-supplied ONNX model, else k-means colour regions (a fallback)", Options,
        (i, o) => string.IsNullOrWhiteSpace(o.Get("estimator"))
            ? new PreprocessorResult(Fallback(i, o.GetInt("clusters"), o.GetInt("seed")), Note: FallbackNote)
            : new PreprocessorResult(WithModel(i, o.Get("estimator"))));

    public static RgbImage WithModel(RgbImage input, string modelPath)
    {
        var model = OnnxImageModel.Load(modelPath);
        var (data, shape) = model.Run(input);
        if (shape.Length != 4 || shape[1] < 2 || shape[1] > Ade20k.Classes.Count)
            throw new ArgumentException($"'{modelPath}': expected class logits [1, C, h, w] with C up to {Ade20k.Classes.Count}, got [{string.Join(", ", shape)}]");
        int classes = shape[1], h = shape[2], w = shape[3], plane = h * w;
        var labels = new byte[plane];
        for (var i = 0; i < plane; i++)
        {
            var best = 0;
            for (var c = 1; c < classes; c++)
                if (data[c * plane + i] > data[best * plane + i]) best = c;
            labels[i] = (byte)best;
        }
        using var small = Mat.FromPixelData(h, w, MatType.CV_8UC1, labels);
        using var big = new Mat();
        // Nearest keeps labels whole: no blend of two class ids is another class.
        Cv2.Resize(small, big, new Size(input.Width, input.Height), 0, 0, InterpolationFlags.Nearest);
        return Paint(big, input.Width, input.Height, k => k);
    }

    /// <summary>k-means runs on at most this many pixels (an even sample); every pixel then takes its nearest centre.</summary>
    private const int KMeansSamples = 16384;

    public static RgbImage Fallback(RgbImage input, int clusters = 6, int seed = 0)
    {
        var n = input.Width * input.Height;
        var k = Math.Min(clusters, n);
        using var rgb = MatConversions.View(input);
        using var f = new Mat();
        using var lab = new Mat();
        rgb.ConvertTo(f, MatType.CV_32FC3, 1.0 / 255);
        Cv2.CvtColor(f, lab, ColorConversionCodes.RGB2Lab);
        using var flatLab = lab.Reshape(1, n);
        flatLab.GetArray(out float[] values); // n x 3
        var ids = new int[n];
        if (k >= 2)
        {
            var stride = Math.Max(1, (n + KMeansSamples - 1) / KMeansSamples);
            var m = (n + stride - 1) / stride;
            var sample = new float[m * 3];
            for (var j = 0; j < m; j++) Array.Copy(values, j * stride * 3, sample, j * 3, 3);
            using var samples = Mat.FromPixelData(m, 3, MatType.CV_32FC1, sample);
            using var labels = new Mat();
            using var centres = new Mat();
            // k-means draws its initial centres from OpenCV's global RNG: seed it so the same image gives the same map.
            Cv2.SetTheRNG((ulong)seed + 1);
            Cv2.Kmeans(samples, Math.Min(k, m), labels, new TermCriteria(CriteriaTypes.Eps | CriteriaTypes.MaxIter, 20, 0.5), 3,
                KMeansFlags.PpCenters, centres);
            centres.GetArray(out float[] c);
            var count = c.Length / 3;
            for (var i = 0; i < n; i++)
            {
                float l = values[3 * i], a = values[3 * i + 1], b = values[3 * i + 2];
                var best = 0;
                var bestD = float.MaxValue;
                for (var j = 0; j < count; j++)
                {
                    float dl = l - c[3 * j], da = a - c[3 * j + 1], db = b - c[3 * j + 2];
                    var d = dl * dl + da * da + db * db;
                    if (d < bestD) (bestD, best) = (d, j);
                }
                ids[i] = best;
            }
        }
        // Largest region first, so the same scene gives the same colours whatever order k-means found them in.
        var order = ids.GroupBy(x => x).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).ToArray();
        var rank = new byte[Math.Max(k, 1)];
        for (var r = 0; r < order.Length; r++) rank[order[r]] = (byte)r;
        var bytes = new byte[n];
        for (var i = 0; i < n; i++) bytes[i] = rank[ids[i]];
        using var map = Mat.FromPixelData(input.Height, input.Width, MatType.CV_8UC1, bytes);
        return Paint(map, input.Width, input.Height, c => c);
    }

    private static RgbImage Paint(Mat labels, int width, int height, Func<int, int> classOf)
    {
        labels.GetArray(out byte[] ids);
        var pixels = new byte[width * height * 3];
        for (var i = 0; i < ids.Length; i++)
        {
            var (_, r, g, b) = Ade20k.Classes[classOf(ids[i]) % Ade20k.Classes.Count];
            (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]) = (r, g, b);
        }
        return new RgbImage(width, height, pixels);
    }
}
