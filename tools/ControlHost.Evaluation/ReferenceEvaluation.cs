using System.Globalization;
using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Placement;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Evaluation;

/// <summary>
/// controlhost-eval reference [--seeds N] [--steps N] [--pictures DIR]: how well box placement draws the object of a reference
/// picture (tests/fixtures/evalset-reference, from tools/forge/reference_fixtures.py). Each object is placed in its
/// box on its background with the generic prompt, once with a <c>reference</c> unit of its picture and once
/// without, same seed. Inside the box: the CIEDE2000 distance between the mean colour where the object belongs (its
/// mask, which the box fits exactly) and the picture's object colour; and the IoU of that mask with what the
/// placement changed (pixels more than 40 from the background in some channel). A third placement without the unit
/// but with a caption naming the object's colour and shape word shows what text alone gets. A fourth, with a
/// shapeless reference (a filled square of the object's mean colour and size), separates what the outline adds from
/// what colour, size and the tokens' presence do. A fifth adds a canny unit of the same picture (cropped to the
/// object), the spatial path an outline can take. --pictures writes the first seed's placements (NAME.without.png,
/// NAME.with.png, NAME.caption.png, NAME.shapeless.png, NAME.with-canny.png) for docs/reference/make.sh.
/// </summary>
public static class ReferenceEvaluation
{
    private const int ChangedThreshold = 40;
    // The five placements of each object and seed.
    private const int Without = 0, WithUnit = 1, CaptionAlone = 2, Shapeless = 3, WithCanny = 4;
    private static readonly string[] PictureNames = ["without", "with", "caption", "shapeless", "with-canny"];

    public static int Run(GenerationService service, string root, int seeds, int steps, string? pictures)
    {
        if (!service.Catalog.Adapters.Any(a => a.Condition == "reference"))
        {
            Console.WriteLine("reference   (no reference adapter exported yet)");
            return 1;
        }
        var set = ReferenceSet.Load(Path.Combine(root, "tests", "fixtures", "evalset-reference"));
        var (prompt, threshold) = (set.Prompt, set.Threshold);
        var placer = new Placer(service);
        // [ood][variant] sums of colour distance and IoU, and counts.
        var colour = new double[2, 5];
        var iou = new double[2, 5];
        var count = new int[2];
        foreach (var (name, caption, isOod, box, background, picture, mask, target) in set.Cases)
        {
            var ood = isOod ? 1 : 0;
            var shapeless = ShapelessPicture(picture, threshold);
            var options = new Dictionary<string, string> { ["threshold"] = threshold.ToString(CultureInfo.InvariantCulture) };
            UnitSpec Reference(RgbImage image) => new() { Condition = "reference", Image = ImageSource.FromImage(image), Options = options };
            var canny = new UnitSpec { Condition = "canny", Image = ImageSource.FromImage(CroppedToObject(picture, threshold)) };
            for (uint seed = 0; seed < seeds; seed++)
            {
                for (var variant = Without; variant <= WithCanny; variant++)
                {
                    IReadOnlyList<UnitSpec> units = variant switch
                    {
                        WithUnit => [Reference(picture)],
                        Shapeless => [Reference(shapeless)],
                        WithCanny => [Reference(picture), canny],
                        _ => [],
                    };
                    var placed = placer.Place(new PlacementJob
                    {
                        Background = ImageSource.FromImage(background), Prompt = variant == CaptionAlone ? caption : prompt,
                        Seed = 500 + seed, Steps = steps,
                        Boxes = [new BoxPlacement { Box = box, Units = units }],
                    }).Image;
                    if (pictures is not null && seed == 0)
                        PngParameters.Save(placed, Path.Combine(Directory.CreateDirectory(pictures).FullName, $"{name}.{PictureNames[variant]}.png"), null);
                    var (distance, overlap) = Score(placed, background, box, mask, target);
                    colour[ood, variant] += distance;
                    iou[ood, variant] += overlap;
                }
                count[ood]++;
            }
        }
        Console.WriteLine($"reference through box placement ('{prompt}', {seeds} seeds, {steps} steps; with vs without a reference unit)");
        Console.WriteLine($"{"set",-16} {"measure",-34} {"with",7} {"without",8} {"ratio",7}   caption alone, shapeless reference, reference + canny of the picture");
        for (var ood = 0; ood < 2; ood++)
        {
            if (count[ood] == 0) continue;
            var setName = ood == 1 ? "out-of-distrib." : "in-grammar";
            double cw = colour[ood, WithUnit] / count[ood], co = colour[ood, Without] / count[ood], cc = colour[ood, CaptionAlone] / count[ood], cs = colour[ood, Shapeless] / count[ood], cx = colour[ood, WithCanny] / count[ood];
            double iw = iou[ood, WithUnit] / count[ood], io = iou[ood, Without] / count[ood], ic = iou[ood, CaptionAlone] / count[ood], ish = iou[ood, Shapeless] / count[ood], ix = iou[ood, WithCanny] / count[ood];
            Console.WriteLine($"{setName,-16} {"colour CIEDE2000 (lower=better)",-34} {cw,7:0.00} {co,8:0.00} {cw / co,6:0.00}x   {cc:0.00}, {cs:0.00}, {cx:0.00}  ({count[ood]})");
            Console.WriteLine($"{setName,-16} {"shape IoU in the box",-34} {iw,7:0.000} {io,8:0.000} {(io == 0 ? double.PositiveInfinity : iw / io),6:0.00}x   {ic:0.000}, {ish:0.000}, {ix:0.000}  ({count[ood]})");
        }
        return 0;
    }

    /// <summary>The object's bounding box in its picture (the preprocessor's own cut-out) and its mean colour.</summary>
    private static (int X0, int Y0, int X1, int Y1, byte[] Colour) Foreground(RgbImage picture, int threshold)
    {
        var mask = ObjectReference.ForegroundMask(picture, threshold);
        int x0 = picture.Width, y0 = picture.Height, x1 = -1, y1 = -1;
        var sum = new double[3];
        var n = 0;
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            var (x, y) = (i % picture.Width, i / picture.Width);
            (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
            for (var ch = 0; ch < 3; ch++) sum[ch] += picture.Pixels[3 * i + ch];
            n++;
        }
        if (n == 0) return (0, 0, picture.Width - 1, picture.Height - 1, [128, 128, 128]);
        return (x0, y0, x1, y1, sum.Select(v => (byte)Math.Round(v / n)).ToArray());
    }

    /// <summary>A white picture holding a filled square of the object's mean colour, as wide as the object's larger
    /// side: a reference with the object's colour and size but no outline.</summary>
    public static RgbImage ShapelessPicture(RgbImage picture, int threshold)
    {
        var (x0, y0, x1, y1, colour) = Foreground(picture, threshold);
        var side = Math.Max(x1 - x0, y1 - y0) + 1;
        const int margin = 8;
        var size = side + 2 * margin;
        var pixels = new byte[size * size * 3];
        Array.Fill(pixels, (byte)255);
        for (var y = margin; y < margin + side; y++)
            for (var x = margin; x < margin + side; x++)
                colour.CopyTo(pixels, 3 * (y * size + x));
        return new RgbImage(size, size, pixels);
    }

    /// <summary>The picture cropped to the object's bounding box: as a spatial unit's image it is fitted to the box,
    /// so the outline lands where the object belongs rather than shrunk by the picture's margin.</summary>
    public static RgbImage CroppedToObject(RgbImage picture, int threshold)
    {
        var (x0, y0, x1, y1, _) = Foreground(picture, threshold);
        var (w, h) = (x1 - x0 + 1, y1 - y0 + 1);
        var pixels = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
            Array.Copy(picture.Pixels, 3 * ((y0 + y) * picture.Width + x0), pixels, 3 * y * w, 3 * w);
        return new RgbImage(w, h, pixels);
    }

    /// <summary>(colour distance where the object belongs, IoU of the object's mask with the changed pixels).</summary>
    public static (double Distance, double IoU) Score(RgbImage placed, RgbImage background, PixelBox box, RgbImage objectMask, (double L, double A, double B) target)
    {
        var inObject = new byte[placed.Width * placed.Height];
        int both = 0, either = 0;
        for (var y = 0; y < box.Height; y++)
            for (var x = 0; x < box.Width; x++)
            {
                var i = (box.Y + y) * placed.Width + box.X + x;
                var m = objectMask.Pixels[(y * objectMask.Width + x) * 3] >= 128;
                var d = 0;
                for (var ch = 0; ch < 3; ch++) d = Math.Max(d, Math.Abs(placed.Pixels[3 * i + ch] - background.Pixels[3 * i + ch]));
                var changed = d > ChangedThreshold;
                inObject[i] = m ? (byte)1 : (byte)0;
                if (m && changed) both++;
                if (m || changed) either++;
            }
        var mean = MeanLab(placed, inObject);
        return (SeamEvaluation.Ciede2000(mean, target), either == 0 ? 0 : (double)both / either);
    }

    public static (double L, double A, double B) MeanLab(RgbImage image, byte[] mask)
    {
        using var lab = Harmonizer.Lab(image);
        double l = 0, a = 0, b = 0;
        var n = 0;
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            var v = lab.At<Vec3f>(i / image.Width, i % image.Width);
            (l, a, b, n) = (l + v[0], a + v[1], b + v[2], n + 1);
        }
        return n == 0 ? (0, 0, 0) : (l / n, a / n, b / n);
    }
}

/// <summary>One object of the reference evaluation set: its picture, mask, box and background, and the picture's
/// object colour (mean CIELab under the preprocessor's own cut-out).</summary>
public sealed record ReferenceCase(string Name, string Caption, bool Ood, PixelBox Box, RgbImage Background, RgbImage Picture,
    RgbImage Mask, (double L, double A, double B) Target);

/// <summary>tests/fixtures/evalset-reference (tools/forge/reference_fixtures.py): the prompt, the cut-out threshold and
/// the cases, read once for the evaluator and the tests.</summary>
public sealed record ReferenceSet(string Prompt, int Threshold, IReadOnlyList<ReferenceCase> Cases)
{
    public static ReferenceSet Load(string dir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "cases.json")));
        var threshold = doc.RootElement.GetProperty("threshold").GetInt32();
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().Select(c =>
        {
            var name = c.GetProperty("name").GetString()!;
            var b = c.GetProperty("box").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var picture = ImageIo.Load(Path.Combine(dir, $"{name}.object.png"));
            return new ReferenceCase(name, c.GetProperty("caption").GetString()!, c.GetProperty("ood").GetBoolean(), new PixelBox(b[0], b[1], b[2], b[3]),
                ImageIo.Load(Path.Combine(dir, $"{name}.background.png")), picture, ImageIo.Load(Path.Combine(dir, $"{name}.mask.png")),
                ReferenceEvaluation.MeanLab(picture, ObjectReference.ForegroundMask(picture, threshold)));
        }).ToList();
        return new ReferenceSet(doc.RootElement.GetProperty("prompt").GetString()!, threshold, cases);
    }
}
