using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Inpainting;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Application.Placement;

/// <summary>A suggested box and why: each part in 0..1, the score their weighted sum.</summary>
/// <param name="FreeSpace">Few edges inside the box (no strong structure to cover).</param>
/// <param name="Support">A horizontal edge or surface just below the box, or the picture's bottom edge.</param>
/// <param name="Scale">How well the size fits a perspective prior: larger objects sit lower in the frame.</param>
/// <param name="Coverage">The share of the picture's good places (weighted by score) this suggestion stands for, not
/// counting those earlier suggestions stand for: what the ranking is by.</param>
public sealed record SuggestedBox(PixelBox Box, double Score, double FreeSpace, double Support, double Scale, double Coverage = 0);

/// <summary>How the parts of a suggestion's score are weighed, and how far apart suggestions must be.</summary>
/// <param name="MaxOverlap">Suggestions overlapping a better one by more than this IoU are left out.</param>
/// <param name="Sharpness">Power of the score a place counts with in the coverage ranking.</param>
public sealed record SuggestWeights(double Free = 0.55, double Support = 0.25, double Scale = 0.2, double MaxOverlap = 0.1, double Sharpness = 8)
{
    public static readonly SuggestWeights Default = new();

    /// <summary>Free space alone: for pictures with no ground plane (diagrams, the forge's flat scenes).</summary>
    public static readonly SuggestWeights FreeSpaceOnly = new(Free: 1, Support: 0, Scale: 0);
}

/// <summary>
/// Proposes where an object of a given size would fit in a background, from OpenCV measures summed over integral
/// images: edge density inside (free space), horizontal edges along the line below (support), and a perspective prior
/// on the height in the frame. Deterministic: the same background and size give the same boxes in the same order.
/// </summary>
public static class BoxSuggester
{
    /// <summary>Edge density at which free space has fallen to about a third.</summary>
    private const double EdgeDensityScale = 0.04;

    /// <summary>The most suggestions one call gives.</summary>
    public const int MaxCount = 100;

    /// <summary>The long side the measures are taken at: a larger background is analysed scaled down (the boxes are
    /// given in its own pixels), so time and memory stay bounded whatever its size.</summary>
    public const int AnalysisSide = 1024;

    /// <summary>The most places scored: the grid's stride grows for a small box on a large background (a 1x1 box on
    /// 4096x4096 made 4 million places and a quadratic neighbour search that never ended).</summary>
    public const int MaxCandidates = 4096;

    /// <exception cref="BadInputException">A size that does not fit the background, or no count.</exception>
    /// <exception cref="OperationCanceledException">Cancelled (the caller's time bound, or its client left).</exception>
    public static IReadOnlyList<SuggestedBox> Suggest(RgbImage background, int width, int height, int count = 5, SuggestWeights? weights = null,
        CancellationToken cancellation = default)
    {
        weights ??= SuggestWeights.Default;
        int W = background.Width, H = background.Height;
        if (width <= 0 || height <= 0 || width > W || height > H)
            throw new BadInputException("size", $"size {width}x{height}: must be at least 1x1 and fit the {W}x{H} background");
        if (count is < 1 or > MaxCount) throw new BadInputException("count", $"count {count}: must be 1..{MaxCount}");
        var k = Math.Min(1.0, (double)AnalysisSide / Math.Max(W, H));
        if (k >= 1) return SuggestAtSize(background, width, height, count, weights, cancellation);
        // Measured on the scaled background; each box placed back at the asked size, inside the background.
        var small = Geometry.Resize(background, Math.Max(1, (int)Math.Round(W * k)), Math.Max(1, (int)Math.Round(H * k)));
        int sw = Math.Clamp((int)Math.Round(width * k), 1, small.Width), sh = Math.Clamp((int)Math.Round(height * k), 1, small.Height);
        return SuggestAtSize(small, sw, sh, count, weights, cancellation).Select(s => s with
        {
            Box = new PixelBox(Math.Clamp((int)Math.Round(s.Box.X / k), 0, W - width), Math.Clamp((int)Math.Round(s.Box.Y / k), 0, H - height), width, height),
        }).ToList();
    }

    private static IReadOnlyList<SuggestedBox> SuggestAtSize(RgbImage background, int width, int height, int count, SuggestWeights weights,
        CancellationToken cancellation)
    {
        int W = background.Width, H = background.Height;
        cancellation.ThrowIfCancellationRequested();

        using var rgb = MatConversions.View(background);
        using var grey = new Mat();
        Cv2.CvtColor(rgb, grey, ColorConversionCodes.RGB2GRAY);
        using var edges = new Mat();
        Cv2.Canny(rgb, edges, Canny.DefaultLow, Canny.DefaultHigh);
        // Horizontal structure: a strong vertical gradient (the top of a table, a floor line).
        using var dy = new Mat();
        Cv2.Sobel(grey, dy, MatType.CV_32F, 0, 1, 3);
        using var absDy = new Mat();
        Cv2.ConvertScaleAbs(dy, absDy);
        using var horizontal = new Mat();
        Cv2.Threshold(absDy, horizontal, 60, 1, ThresholdTypes.Binary);
        using var edgeOnes = new Mat();
        Cv2.Threshold(edges, edgeOnes, 0, 1, ThresholdTypes.Binary);
        var edgeSum = Integral(edgeOnes);
        var horizontalSum = Integral(horizontal);

        var stride = Math.Max(2, Math.Min(width, height) / 6);
        while ((long)((W - width) / stride + 1) * ((H - height) / stride + 1) > MaxCandidates) stride++;
        var candidates = new List<SuggestedBox>();
        var band = Math.Max(2, height / 12);
        for (var y = 0; y + height <= H; y += stride)
            for (var x = 0; x + width <= W; x += stride)
                candidates.Add(Score(x, y, width, height, W, H, band, edgeSum, horizontalSum, weights));
        // The far corners too, so that a box against the right or bottom edge can be proposed.
        foreach (var (x, y) in new[] { (W - width, H - height), (W - width, 0), (0, H - height) })
            candidates.Add(Score(x, y, width, height, W, H, band, edgeSum, horizontalSum, weights));

        // Greedy maximum coverage: each next suggestion is the place that stands for the most good places not yet
        // stood for, a place counting as stood for when a suggestion overlaps it by IoU 0.5 or more, weighted by
        // its own score (sharpened, so a free place counts far more than a busy one). This puts the first
        // suggestion in the middle of the largest free area rather than at its corner, and the next ones in the
        // other free areas. Ties go by position: deterministic.
        var weight = candidates.Select(c => Math.Pow(c.Score, weights.Sharpness)).ToArray();
        var covered = new bool[candidates.Count];
        var neighbours = new List<int>[candidates.Count];
        for (var i = 0; i < candidates.Count; i++)
        {
            if ((i & 255) == 0) cancellation.ThrowIfCancellationRequested();
            var c = candidates[i].Box;
            neighbours[i] = [];
            for (var j = 0; j < candidates.Count; j++)
            {
                var o = candidates[j].Box;
                if (Math.Abs(o.X - c.X) * 2 >= c.Width || Math.Abs(o.Y - c.Y) * 2 >= c.Height) continue; // IoU < 0.5 for sure
                if (o.IoU(c) >= 0.5) neighbours[i].Add(j);
            }
        }
        var chosen = new List<SuggestedBox>();
        var taken = new bool[candidates.Count];
        while (chosen.Count < count)
        {
            cancellation.ThrowIfCancellationRequested();
            var best = -1;
            var bestValue = -1.0;
            for (var i = 0; i < candidates.Count; i++)
            {
                if (taken[i] || chosen.Any(s => s.Box.IoU(candidates[i].Box) > weights.MaxOverlap)) continue;
                var value = 0.0;
                foreach (var j in neighbours[i])
                    if (!covered[j]) value += weight[j];
                if (value > bestValue + 1e-12) (best, bestValue) = (i, value);
            }
            if (best < 0) break;
            taken[best] = true;
            foreach (var j in neighbours[best]) covered[j] = true;
            chosen.Add(candidates[best] with { Coverage = bestValue / Math.Max(1e-12, weight.Sum()) });
        }
        return chosen;
    }

    private static SuggestedBox Score(int x, int y, int w, int h, int W, int H, int band, long[,] edgeSum, long[,] horizontalSum, SuggestWeights weights)
    {
        var density = Sum(edgeSum, x, y, w, h) / (double)(w * h);
        var free = Math.Exp(-density / EdgeDensityScale);
        // Support: the share of columns with horizontal structure in a band straddling the box's bottom edge; the
        // picture's own bottom edge supports fully.
        double support;
        if (y + h >= H) support = 1;
        else
        {
            var top = Math.Max(0, y + h - band / 2);
            var rows = Math.Min(H, y + h + band) - top;
            support = Math.Min(1, Sum(horizontalSum, x, top, w, rows) / (double)w);
        }
        // Perspective: an object of this height is expected to stand with its bottom lower the bigger it is
        // relative to the frame (a ground plane seen from eye level).
        var expectedBottom = Math.Min(1.0, 0.55 + 0.45 * h / H);
        var bottom = (y + h) / (double)H;
        var scale = Math.Exp(-Math.Pow(bottom - expectedBottom, 2) / (2 * 0.2 * 0.2));
        var score = weights.Free * free + weights.Support * support + weights.Scale * scale;
        return new SuggestedBox(new PixelBox(x, y, w, h), score, free, support, scale);
    }

    private static double Distance(PixelBox a, PixelBox b)
    {
        double dx = a.X + a.Width / 2.0 - (b.X + b.Width / 2.0), dy = a.Y + a.Height / 2.0 - (b.Y + b.Height / 2.0);
        return Math.Sqrt(dx * dx + dy * dy);
    }

    private static long[,] Integral(Mat ones)
    {
        int h = ones.Rows, w = ones.Cols;
        var bytes = new byte[w * h];
        System.Runtime.InteropServices.Marshal.Copy(ones.Data, bytes, 0, bytes.Length);
        var sum = new long[h + 1, w + 1];
        for (var y = 0; y < h; y++)
        {
            long row = 0;
            for (var x = 0; x < w; x++)
            {
                row += bytes[y * w + x];
                sum[y + 1, x + 1] = sum[y, x + 1] + row;
            }
        }
        return sum;
    }

    private static long Sum(long[,] s, int x, int y, int w, int h) => s[y + h, x + w] - s[y, x + w] - s[y + h, x] + s[y, x];
}
