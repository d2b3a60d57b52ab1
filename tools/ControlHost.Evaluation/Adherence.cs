using ControlHost.Abstractions;

namespace ControlHost.Evaluation;

/// <summary>
/// Adherence measures for the embedded family's synthetic world. Each compares a generated image with the control
/// map it was steered by; the evaluator reports them with and without the control (same prompt and seed).
/// </summary>
public static class Adherence
{
    /// <summary>
    /// Segmentation: the control's regions (one per distinct colour) are matched to the generated image by giving
    /// each generated pixel to the region whose mean generated colour is nearest; mean IoU over regions.
    /// </summary>
    public static double SegmentationMeanIoU(RgbImage control, RgbImage generated)
    {
        var labels = Labels(control, out var count);
        var predicted = NearestMeanAssignment(generated, labels, count);
        double sum = 0;
        for (var k = 0; k < count; k++)
        {
            int inter = 0, union = 0;
            for (var i = 0; i < labels.Length; i++)
            {
                bool a = labels[i] == k, b = predicted[i] == k;
                if (a && b) inter++;
                if (a || b) union++;
            }
            sum += union == 0 ? 0 : (double)inter / union;
        }
        return sum / count;
    }

    /// <summary>
    /// Depth: the control's depth layers (objects have flat depths, the ground below 100 is one layer) are matched
    /// to the generated image as for segmentation, which gives the generated image a depth estimate: a pixel given to
    /// its own layer keeps the control's depth there, a pixel given to another layer takes that layer's mean depth.
    /// Spearman correlation between the control depth and that estimate: 1 for an image laid out exactly as the
    /// control. (Taking every pixel's layer mean, as a first version did, capped a perfect image at about 0.48 on the
    /// evaluation scenes, since the ground's gradient collapsed into one value.)
    /// </summary>
    public static double DepthSpearman(RgbImage controlDepth, RgbImage generated)
    {
        var n = controlDepth.Width * controlDepth.Height;
        var depth = new double[n];
        var layerOf = new int[n];
        var layerIds = new Dictionary<int, int>();
        for (var i = 0; i < n; i++)
        {
            var d = controlDepth.Pixels[i * 3];
            depth[i] = d;
            var key = d < 100 ? -1 : d;
            if (!layerIds.TryGetValue(key, out var id)) layerIds[key] = id = layerIds.Count;
            layerOf[i] = id;
        }
        var predicted = NearestMeanAssignment(generated, layerOf, layerIds.Count);
        var layerMean = new double[layerIds.Count];
        var layerCount = new int[layerIds.Count];
        for (var i = 0; i < n; i++)
        {
            layerMean[layerOf[i]] += depth[i];
            layerCount[layerOf[i]]++;
        }
        for (var k = 0; k < layerMean.Length; k++) layerMean[k] /= Math.Max(1, layerCount[k]);
        return Spearman(depth, predicted.Select((p, i) => p == layerOf[i] ? depth[i] : layerMean[p]).ToArray());
    }

    /// <summary>
    /// Pose: the fraction of the control skeleton's limb pixels where the generated image differs from its own
    /// background colour (the median of its border pixels) by more than 60 in RGB distance, i.e. where a figure is.
    /// </summary>
    public static double PoseLimbCoverage(RgbImage controlPose, RgbImage generated)
    {
        var bg = BorderMedian(generated);
        int limb = 0, covered = 0;
        for (var i = 0; i < controlPose.Width * controlPose.Height; i++)
        {
            var p = controlPose.Pixels;
            if (p[i * 3] + p[i * 3 + 1] + p[i * 3 + 2] < 60) continue;
            limb++;
            var g = generated.Pixels;
            if (Distance(g[i * 3], g[i * 3 + 1], g[i * 3 + 2], bg) > 60) covered++;
        }
        return limb == 0 ? 0 : (double)covered / limb;
    }

    /// <summary>Intensity: Pearson correlation between the control grey and the generated image's grey.</summary>
    public static double IntensityCorrelation(RgbImage controlGrey, RgbImage generated)
    {
        var n = controlGrey.Width * controlGrey.Height;
        var a = new double[n];
        var b = new double[n];
        for (var i = 0; i < n; i++)
        {
            a[i] = controlGrey.Pixels[i * 3];
            var g = generated.Pixels;
            b[i] = 0.299 * g[i * 3] + 0.587 * g[i * 3 + 1] + 0.114 * g[i * 3 + 2];
        }
        return Pearson(a, b);
    }

    /// <summary>
    /// Prompt colour: pixels further than 80 from the named background colour are the object; their mean colour's
    /// nearest named colour (background excluded) is the object's colour. Null when no object is found.
    /// </summary>
    public static string? ObjectColour(RgbImage generated, IReadOnlyDictionary<string, (int R, int G, int B)> colours, string background)
    {
        var bg = colours[background];
        double r = 0, g = 0, b = 0;
        var count = 0;
        var px = generated.Pixels;
        for (var i = 0; i < px.Length; i += 3)
        {
            if (Distance(px[i], px[i + 1], px[i + 2], bg) <= 80) continue;
            r += px[i];
            g += px[i + 1];
            b += px[i + 2];
            count++;
        }
        if (count < 20) return null;
        var mean = ((int)(r / count), (int)(g / count), (int)(b / count));
        return colours.Where(c => c.Key != background)
            .OrderBy(c => Distance((byte)mean.Item1, (byte)mean.Item2, (byte)mean.Item3, c.Value)).First().Key;
    }

    public static double Spearman(double[] a, double[] b) => Pearson(Ranks(a), Ranks(b));

    public static double Pearson(double[] a, double[] b)
    {
        double ma = a.Average(), mb = b.Average(), cov = 0, va = 0, vb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            cov += (a[i] - ma) * (b[i] - mb);
            va += (a[i] - ma) * (a[i] - ma);
            vb += (b[i] - mb) * (b[i] - mb);
        }
        return va == 0 || vb == 0 ? 0 : cov / Math.Sqrt(va * vb);
    }

    /// <summary>Ranks with ties given their average rank.</summary>
    public static double[] Ranks(double[] values)
    {
        var order = Enumerable.Range(0, values.Length).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Length];
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j + 1 < order.Length && values[order[j + 1]] == values[order[i]]) j++;
            var avg = (i + j) / 2.0;
            for (var k = i; k <= j; k++) ranks[order[k]] = avg;
            i = j + 1;
        }
        return ranks;
    }

    private static int[] Labels(RgbImage image, out int count)
    {
        var ids = new Dictionary<int, int>();
        var labels = new int[image.Width * image.Height];
        for (var i = 0; i < labels.Length; i++)
        {
            var p = image.Pixels;
            var key = (p[i * 3] << 16) | (p[i * 3 + 1] << 8) | p[i * 3 + 2];
            if (!ids.TryGetValue(key, out var id)) ids[key] = id = ids.Count;
            labels[i] = id;
        }
        count = ids.Count;
        return labels;
    }

    /// <summary>Each pixel goes to the region whose mean colour (over the region's pixels in this image) is nearest.</summary>
    private static int[] NearestMeanAssignment(RgbImage image, int[] labels, int count)
    {
        var sums = new double[count, 3];
        var counts = new int[count];
        var p = image.Pixels;
        for (var i = 0; i < labels.Length; i++)
        {
            for (var c = 0; c < 3; c++) sums[labels[i], c] += p[i * 3 + c];
            counts[labels[i]]++;
        }
        var means = new (double, double, double)[count];
        for (var k = 0; k < count; k++)
            means[k] = (sums[k, 0] / Math.Max(1, counts[k]), sums[k, 1] / Math.Max(1, counts[k]), sums[k, 2] / Math.Max(1, counts[k]));
        var result = new int[labels.Length];
        for (var i = 0; i < labels.Length; i++)
        {
            var best = 0;
            var bestD = double.MaxValue;
            for (var k = 0; k < count; k++)
            {
                var (r, g, b) = means[k];
                var d = (p[i * 3] - r) * (p[i * 3] - r) + (p[i * 3 + 1] - g) * (p[i * 3 + 1] - g) + (p[i * 3 + 2] - b) * (p[i * 3 + 2] - b);
                if (d < bestD)
                {
                    bestD = d;
                    best = k;
                }
            }
            result[i] = best;
        }
        return result;
    }

    private static (int R, int G, int B) BorderMedian(RgbImage image)
    {
        var rs = new List<int>();
        var gs = new List<int>();
        var bs = new List<int>();
        for (var y = 0; y < image.Height; y++)
            for (var x = 0; x < image.Width; x++)
            {
                if (x > 1 && y > 1 && x < image.Width - 2 && y < image.Height - 2) continue;
                var i = (y * image.Width + x) * 3;
                rs.Add(image.Pixels[i]);
                gs.Add(image.Pixels[i + 1]);
                bs.Add(image.Pixels[i + 2]);
            }
        static int Median(List<int> v)
        {
            v.Sort();
            return v[v.Count / 2];
        }
        return (Median(rs), Median(gs), Median(bs));
    }

    private static double Distance(byte r, byte g, byte b, (int R, int G, int B) c) =>
        Math.Sqrt((r - c.R) * (r - c.R) + (g - c.G) * (g - c.G) + (b - c.B) * (b - c.B));
}
