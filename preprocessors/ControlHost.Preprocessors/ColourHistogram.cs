using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// Composer's colour condition as ../shared/composer-colour.md defines it: the 180-colour codebook (11 hues x 15
/// saturation/value rows, then 15 greys) in CIE L*a*b* (sRGB, D65, 2 degrees), nearest-colour counts per pixel,
/// smoothed with sigma 10 in Lab units, entries below 1e-5 zeroed and the rest left as they are (not renormalised).
/// </summary>
public static class ColourHistogram
{
    public const int Bins = 180;
    public const double Sigma = 10.0;
    public const double Floor = 1e-5;

    private static readonly double[] Hues = [0.0, 0.0833, 0.166, 0.25, 0.333, 0.5, 0.56333, 0.666, 0.73, 0.803, 0.916];

    /// <summary>The codebook in sRGB [0,1], index order hue-major then greys (white to black).</summary>
    public static IReadOnlyList<(double R, double G, double B)> CodebookRgb { get; } = BuildCodebook();

    /// <summary>The codebook in L*a*b*.</summary>
    public static IReadOnlyList<(double L, double A, double B)> CodebookLab { get; } = CodebookRgb.Select(c => SrgbToLab(c.R, c.G, c.B)).ToArray();

    private static readonly double[,] Smoothing = BuildSmoothing();

    private static List<(double, double, double)> BuildCodebook()
    {
        var rows = new List<(double S, double V)>();
        for (var s = 1; s <= 5; s++) rows.Add((s / 6.0, 1.0));
        rows.Add((1.0, 1.0));
        // inner points of linspace(1, 0.2, 7)
        for (var k = 1; k <= 5; k++) rows.Add((1.0, 1.0 - k * 0.8 / 6));
        for (var k = 1; k <= 4; k++) rows.Add((0.4, 1.0 - k * 0.8 / 6));
        var colours = new List<(double, double, double)>();
        foreach (var h in Hues)
            foreach (var (s, v) in rows)
                colours.Add(HsvToRgb(h, s, v));
        for (var k = 0; k < 15; k++)
        {
            var g = (14 - k) / 14.0;
            colours.Add((g, g, g));
        }
        return colours;
    }

    /// <summary>HSV in [0,1] to RGB in [0,1], sector by sector (the same arithmetic as Python's colorsys).</summary>
    public static (double R, double G, double B) HsvToRgb(double h, double s, double v)
    {
        if (s == 0) return (v, v, v);
        var i = (int)(h * 6.0);
        var f = h * 6.0 - i;
        double p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
        return (i % 6) switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }

    /// <summary>sRGB in [0,1] to CIE L*a*b* (D65 white, 2 degree observer).</summary>
    public static (double L, double A, double B) SrgbToLab(double r, double g, double b) => LinearToLab(Linear(r), Linear(g), Linear(b));

    private static double Linear(double c) => c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);

    /// <summary>Linear values of the 256 sRGB byte levels (exactly what <see cref="Linear"/> gives for v / 255).</summary>
    private static readonly double[] LinearOfByte = Enumerable.Range(0, 256).Select(v => Linear(v / 255.0)).ToArray();

    private static (double L, double A, double B) LinearToLab(double lr, double lg, double lb)
    {
        var x = (0.4124564 * lr + 0.3575761 * lg + 0.1804375 * lb) / 0.95047;
        var y = 0.2126729 * lr + 0.7151522 * lg + 0.0721750 * lb;
        var z = (0.0193339 * lr + 0.1191920 * lg + 0.9503041 * lb) / 1.08883;
        const double eps = 216.0 / 24389, kappa = 24389.0 / 27;
        static double F(double t) => t > eps ? Math.Cbrt(t) : (kappa * t + 16) / 116;
        double fx = F(x), fy = F(y), fz = F(z);
        return (116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz));
    }

    private static double[,] BuildSmoothing()
    {
        var w = new double[Bins, Bins];
        for (var i = 0; i < Bins; i++)
        {
            double sum = 0;
            for (var j = 0; j < Bins; j++)
            {
                var d2 = Distance2(CodebookLab[i], CodebookLab[j]);
                w[i, j] = Math.Exp(-d2 / (2 * Sigma * Sigma));
                sum += w[i, j];
            }
            for (var j = 0; j < Bins; j++) w[i, j] /= sum;
        }
        return w;
    }

    private static double Distance2((double L, double A, double B) p, (double L, double A, double B) q) =>
        (p.L - q.L) * (p.L - q.L) + (p.A - q.A) * (p.A - q.A) + (p.B - q.B) * (p.B - q.B);

    // The codebook as three arrays, for the nearest-colour search.
    private static readonly double[] CodeL = CodebookLab.Select(c => c.L).ToArray();
    private static readonly double[] CodeA = CodebookLab.Select(c => c.A).ToArray();
    private static readonly double[] CodeB = CodebookLab.Select(c => c.B).ToArray();

    /// <summary>The codebook index nearest to an sRGB byte colour (the lowest index on a tie).</summary>
    public static int Nearest(byte r, byte g, byte b)
    {
        var (l, a, bb) = LinearToLab(LinearOfByte[r], LinearOfByte[g], LinearOfByte[b]);
        var best = 0;
        var bestD = double.MaxValue;
        for (var k = 0; k < Bins; k++)
        {
            double dl = l - CodeL[k], da = a - CodeA[k], db = bb - CodeB[k];
            var d = dl * dl + da * da + db * db;
            if (d < bestD)
            {
                bestD = d;
                best = k;
            }
        }
        return best;
    }

    /// <summary>
    /// The pixel strides rayleigh (the library Composer's colour condition comes from) samples an image with:
    /// h / 241 + 1 rows and w / 241 + 1 columns, so images up to 240 pixels are read whole.
    /// </summary>
    public static (int Rows, int Columns) SampleStrides(int width, int height) => (height / 241 + 1, width / 241 + 1);

    /// <summary>
    /// Hard counts divided by the number of pixels counted (sums to 1). With <paramref name="subsample"/> the pixels
    /// are read at <see cref="SampleStrides"/> as rayleigh does (a variant composer-colour.md allows, and the same
    /// as reading every pixel up to 240 pixels a side); without, every pixel.
    /// </summary>
    public static double[] HardCounts(RgbImage image, bool subsample = true)
    {
        var (sy, sx) = subsample ? SampleStrides(image.Width, image.Height) : (1, 1);
        var counts = new double[Bins];
        var px = image.Pixels;
        var table = new ColourTable(Math.Min(1 << 20, (image.Width / sx + 1) * (image.Height / sy + 1)));
        long n = 0;
        for (var y = 0; y < image.Height; y += sy)
            for (var x = 0; x < image.Width; x += sx)
            {
                var i = (y * image.Width + x) * 3;
                counts[table.BinOf(px[i], px[i + 1], px[i + 2])]++;
                n++;
            }
        for (var k = 0; k < Bins; k++) counts[k] /= n;
        return counts;
    }

    /// <summary>The smoothed 180-entry histogram of an image (subsampled as rayleigh does; see HardCounts).</summary>
    public static float[] Compute(RgbImage image, bool subsample = true) => Smooth(HardCounts(image, subsample));

    /// <summary>
    /// Nearest codebook entry per distinct colour, looked up once: an open-addressing table keyed by the packed RGB,
    /// sized for the pixels to count (a Dictionary cost more than the search itself on photos).
    /// </summary>
    private sealed class ColourTable
    {
        private readonly int[] _keys;   // packed RGB + 1; 0 = empty
        private readonly byte[] _bins;
        private readonly int _mask;
        private int _count;

        public ColourTable(int expected)
        {
            var size = 1024;
            while (size < 2 * expected) size <<= 1;
            _keys = new int[size];
            _bins = new byte[size];
            _mask = size - 1;
        }

        public int BinOf(byte r, byte g, byte b)
        {
            var key = ((r << 16) | (g << 8) | b) + 1;
            var slot = (int)((uint)(key * -1640531535) >> 12) & _mask; // Fibonacci hashing spreads nearby colours
            while (true)
            {
                var k = _keys[slot];
                if (k == key) return _bins[slot];
                if (k == 0)
                {
                    var bin = (byte)Nearest(r, g, b);
                    // Kept under three quarters full, so a probe always ends; past that, colours are not cached.
                    if (4 * ++_count >= 3 * _keys.Length) return bin;
                    _keys[slot] = key;
                    return _bins[slot] = bin;
                }
                slot = (slot + 1) & _mask;
            }
        }
    }

    /// <summary>The registry's module: the vector, and the strip that pictures it as the image.</summary>
    public static readonly IPreprocessor Module = new PreprocessorModule("colour", ["colour_histogram", "color_histogram", "composer_colour"],
        "Composer colour histogram: 180 CIELab codebook colours, smoothed (sigma 10); a vector for the colour adapter", [],
        (i, _) =>
        {
            var vector = Compute(i);
            return new PreprocessorResult(Visualise(vector, 360, 48), vector);
        });


    public static float[] Smooth(double[] hard)
    {
        var result = new float[Bins];
        for (var i = 0; i < Bins; i++)
        {
            double s = 0;
            for (var j = 0; j < Bins; j++) s += Smoothing[i, j] * hard[j];
            result[i] = s < Floor ? 0f : (float)s;
        }
        return result;
    }

    /// <summary>L1 distance between two histograms.</summary>
    public static double Distance(IReadOnlyList<float> a, IReadOnlyList<float> b) => a.Zip(b, (x, y) => Math.Abs((double)x - y)).Sum();

    /// <summary>A strip whose columns take the codebook colours in proportion to the histogram's weights.</summary>
    public static RgbImage Visualise(IReadOnlyList<float> histogram, int width, int height)
    {
        var total = histogram.Sum();
        var pixels = new byte[width * height * 3];
        if (total <= 0) return new RgbImage(width, height, pixels);
        var x = 0;
        double cumulative = 0;
        for (var k = 0; k < Bins && x < width; k++)
        {
            cumulative += histogram[k] / total;
            var end = (int)Math.Round(cumulative * width);
            var (r, g, b) = CodebookRgb[k];
            for (; x < end && x < width; x++)
                for (var y = 0; y < height; y++)
                {
                    var i = (y * width + x) * 3;
                    (pixels[i], pixels[i + 1], pixels[i + 2]) = ((byte)Math.Round(r * 255), (byte)Math.Round(g * 255), (byte)Math.Round(b * 255));
                }
        }
        return new RgbImage(width, height, pixels);
    }
}
