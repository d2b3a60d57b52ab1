using System.Globalization;
using ControlHost.Abstractions;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Placement;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Evaluation;

/// <summary>
/// controlhost-eval placement [--seeds N]: how smooth the seam of a placed object is. For each seed an object is
/// placed with context (the placement operation, every harmonisation mode) and, for comparison, generated alone at
/// the canvas size without the background and pasted into the same box through the same feathered mask. The seam is
/// scored on 4-pixel rings either side of the box border: the mean CIEDE2000 between the rings' colours, side segment
/// by segment, and the L1 distance of their gradient-magnitude histograms. Lower is smoother.
/// </summary>
internal static class SeamEvaluation
{
    private const int Ring = 4;

    public static int Run(GenerationService service, string root, int seeds)
    {
        var background = ImageIo.Load(Path.Combine(root, "examples", "star-scene.png"));
        var box = new PixelBox(78, 8, 44, 56);
        // A small object in the middle of its hint, so the ring just inside the box is the object's surroundings,
        // which is what a seam compares with the background's.
        var sketch = CircleSketch();
        const string prompt = "a small green circle";
        var rows = new Dictionary<string, (double De, double Grad)>();
        void Add(string name, RgbImage image)
        {
            var (de, grad) = Seam(image, box);
            var (d0, g0) = rows.GetValueOrDefault(name);
            rows[name] = (d0 + de / seeds, g0 + grad / seeds);
        }
        var placer = new Placer(service);
        for (uint s = 0; s < seeds; s++)
        {
            foreach (var mode in Enum.GetValues<Harmonization>())
            {
                var placed = placer.Place(new PlacementJob
                {
                    Background = background, Prompt = prompt, Seed = 60 + s, Steps = 20, Harmonize = mode,
                    Boxes = [new BoxPlacement { Box = box, Units = [new UnitSpec { Condition = "canny", Image = sketch, Preprocess = false }] }],
                });
                Add($"with context, harmonize {mode.ToString().ToLowerInvariant()}", placed.Image);
            }
            // Without context: the object generated on its own canvas (its hint fitted the same way) and pasted.
            var alone = service.Generate(new GenerationJob
            {
                Prompt = prompt, Seed = 60 + s, Steps = 20, Width = 128, Height = 128,
                Units = [new UnitSpec { Condition = "canny", Image = Placer.FitIntoBox(sketch, box, 128, 128), Preprocess = false }],
            }).Images[0].Image;
            var mask = MaskBuilder.Build(new InpaintSpec { Box = box, MaskBlur = 0, Feather = PlacementJob.DefaultFeather }, background.Width, background.Height,
                Application.Sources.PathPolicy.Local);
            var pasted = CropTransform.Whole(background.Width, background.Height, 128, 128).PasteBack(background, ImageIo.Fit(alone, background.Width, background.Height, ResizeMode.JustResize), mask);
            Add("without context (generated alone, pasted)", pasted);
            foreach (var mode in new[] { Harmonization.Reinhard, Harmonization.Poisson })
                Add($"without context, harmonize {mode.ToString().ToLowerInvariant()}", Harmonizer.Apply(mode, background, pasted, mask, box));
        }
        Console.WriteLine($"seam of a placed object ({seeds} seeds, box {box} on examples/star-scene.png, '{prompt}', a canny unit of a circle half the box wide, 20 steps; lower is smoother)");
        Console.WriteLine($"{"placement",-46} {"CIEDE2000",9} {"grad hist L1",12}");
        foreach (var (name, (de, grad)) in rows)
            Console.WriteLine($"{name,-46} {de.ToString("0.00", CultureInfo.InvariantCulture),9} {grad.ToString("0.000", CultureInfo.InvariantCulture),12}");
        return 0;
    }

    private static RgbImage CircleSketch()
    {
        using var mat = new Mat(80, 60, MatType.CV_8UC3, Scalar.All(0));
        Cv2.Circle(mat, new Point(30, 40), 15, Scalar.All(255), 2);
        return MatConversions.ToRgb(mat);
    }

    /// <summary>(mean CIEDE2000 between the inner and outer rings, segment by segment; gradient histogram L1).</summary>
    public static (double DeltaE, double GradientL1) Seam(RgbImage image, PixelBox box)
    {
        using var lab = Harmonizer.Lab(image);
        using var grad = GradientMagnitude(image);
        var inner = new List<(int X, int Y)>();
        var outer = new List<(int X, int Y)>();
        for (var y = Math.Max(0, box.Y - Ring); y < Math.Min(image.Height, box.Bottom + Ring); y++)
            for (var x = Math.Max(0, box.X - Ring); x < Math.Min(image.Width, box.Right + Ring); x++)
            {
                var inside = x >= box.X && x < box.Right && y >= box.Y && y < box.Bottom;
                var depth = inside ? Math.Min(Math.Min(x - box.X, box.Right - 1 - x), Math.Min(y - box.Y, box.Bottom - 1 - y)) : -1;
                if (inside && depth < Ring) inner.Add((x, y));
                else if (!inside) outer.Add((x, y));
            }
        // Segments: 8 along each side, by the angle around the box centre, so each inner segment faces its outer one.
        double cx = box.X + box.Width / 2.0, cy = box.Y + box.Height / 2.0;
        int Segment((int X, int Y) p) => (int)((Math.Atan2(p.Y + 0.5 - cy, p.X + 0.5 - cx) + Math.PI) / (2 * Math.PI) * 32) % 32;
        var sum = 0.0;
        var used = 0;
        foreach (var seg in Enumerable.Range(0, 32))
        {
            var a = inner.Where(p => Segment(p) == seg).ToList();
            var b = outer.Where(p => Segment(p) == seg).ToList();
            if (a.Count == 0 || b.Count == 0) continue;
            sum += Ciede2000(Mean(lab, a), Mean(lab, b));
            used++;
        }
        var hIn = Histogram(grad, inner);
        var hOut = Histogram(grad, outer);
        return (used == 0 ? 0 : sum / used, hIn.Zip(hOut).Sum(p => Math.Abs(p.First - p.Second)));
    }

    private static Mat GradientMagnitude(RgbImage image)
    {
        using var bytes = MatConversions.View(image);
        using var grey = new Mat();
        Cv2.CvtColor(bytes, grey, ColorConversionCodes.RGB2GRAY);
        using var dx = new Mat();
        using var dy = new Mat();
        Cv2.Sobel(grey, dx, MatType.CV_32F, 1, 0);
        Cv2.Sobel(grey, dy, MatType.CV_32F, 0, 1);
        var mag = new Mat();
        Cv2.Magnitude(dx, dy, mag);
        return mag;
    }

    private static (double L, double A, double B) Mean(Mat lab, List<(int X, int Y)> pixels)
    {
        double l = 0, a = 0, b = 0;
        foreach (var (x, y) in pixels)
        {
            var v = lab.At<Vec3f>(y, x);
            (l, a, b) = (l + v[0], a + v[1], b + v[2]);
        }
        return (l / pixels.Count, a / pixels.Count, b / pixels.Count);
    }

    private static double[] Histogram(Mat magnitude, List<(int X, int Y)> pixels)
    {
        // 16 bins of 32 (Sobel magnitudes of 8-bit images reach about 1,440); normalised to sum 1.
        var h = new double[16];
        foreach (var (x, y) in pixels) h[Math.Min(15, (int)(magnitude.At<float>(y, x) / 32))]++;
        for (var i = 0; i < h.Length; i++) h[i] /= Math.Max(1, pixels.Count);
        return h;
    }

    /// <summary>CIEDE2000 colour difference (Sharma, Wu and Dalal 2005, with kL = kC = kH = 1).</summary>
    public static double Ciede2000((double L, double A, double B) c1, (double L, double A, double B) c2)
    {
        static double Deg(double r) => r * 180 / Math.PI;
        static double Rad(double d) => d * Math.PI / 180;
        double C1 = Math.Sqrt(c1.A * c1.A + c1.B * c1.B), C2 = Math.Sqrt(c2.A * c2.A + c2.B * c2.B);
        var cBar = (C1 + C2) / 2;
        var g = 0.5 * (1 - Math.Sqrt(Math.Pow(cBar, 7) / (Math.Pow(cBar, 7) + Math.Pow(25, 7))));
        double a1 = (1 + g) * c1.A, a2 = (1 + g) * c2.A;
        double cp1 = Math.Sqrt(a1 * a1 + c1.B * c1.B), cp2 = Math.Sqrt(a2 * a2 + c2.B * c2.B);
        double h1 = cp1 == 0 ? 0 : (Deg(Math.Atan2(c1.B, a1)) + 360) % 360, h2 = cp2 == 0 ? 0 : (Deg(Math.Atan2(c2.B, a2)) + 360) % 360;
        var dL = c2.L - c1.L;
        var dC = cp2 - cp1;
        double dh = cp1 * cp2 == 0 ? 0 : Math.Abs(h2 - h1) <= 180 ? h2 - h1 : h2 - h1 > 180 ? h2 - h1 - 360 : h2 - h1 + 360;
        var dH = 2 * Math.Sqrt(cp1 * cp2) * Math.Sin(Rad(dh / 2));
        var lBar = (c1.L + c2.L) / 2;
        var cpBar = (cp1 + cp2) / 2;
        double hBar = cp1 * cp2 == 0 ? h1 + h2 : Math.Abs(h1 - h2) <= 180 ? (h1 + h2) / 2 : h1 + h2 < 360 ? (h1 + h2 + 360) / 2 : (h1 + h2 - 360) / 2;
        var t = 1 - 0.17 * Math.Cos(Rad(hBar - 30)) + 0.24 * Math.Cos(Rad(2 * hBar)) + 0.32 * Math.Cos(Rad(3 * hBar + 6)) - 0.20 * Math.Cos(Rad(4 * hBar - 63));
        var dTheta = 30 * Math.Exp(-Math.Pow((hBar - 275) / 25, 2));
        var rc = 2 * Math.Sqrt(Math.Pow(cpBar, 7) / (Math.Pow(cpBar, 7) + Math.Pow(25, 7)));
        var sl = 1 + 0.015 * Math.Pow(lBar - 50, 2) / Math.Sqrt(20 + Math.Pow(lBar - 50, 2));
        var sc = 1 + 0.045 * cpBar;
        var sh = 1 + 0.015 * cpBar * t;
        var rt = -Math.Sin(Rad(2 * dTheta)) * rc;
        return Math.Sqrt(Math.Pow(dL / sl, 2) + Math.Pow(dC / sc, 2) + Math.Pow(dH / sh, 2) + rt * (dC / sc) * (dH / sh));
    }
}
