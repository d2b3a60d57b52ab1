using ControlHost.Abstractions;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Placement;
using ControlHost.Application.Units;
using ControlHost.Evaluation;
using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests.Service;

/// <summary>Inside the box the object follows its controls and its prompt (issue 14's adherence targets).</summary>
public class PlacementAdherenceTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    // A free corner of the fixture scene (its red block and blue block are elsewhere), on a yellow background.
    private static readonly PixelBox Box = new(80, 4, 44, 60);
    private static readonly RgbImage Background = EmbeddedModelFixture.Scene(2);

    /// <summary>The colours of the embedded model's world (tools/forge/scenes.py COLOURS).</summary>
    private static readonly (string Name, int R, int G, int B)[] Colours =
    [
        ("red", 220, 30, 30), ("green", 30, 170, 60), ("blue", 30, 70, 220), ("yellow", 240, 210, 40), ("orange", 245, 140, 20),
        ("purple", 130, 50, 180), ("pink", 240, 120, 180), ("teal", 40, 200, 210), ("brown", 130, 80, 40), ("white", 245, 245, 245),
        ("black", 20, 20, 20), ("gray", 128, 128, 128),
    ];

    /// <summary>A triangle outline, the object alone, white on black.</summary>
    private static RgbImage TriangleSketch()
    {
        using var mat = new OpenCvSharp.Mat(80, 60, OpenCvSharp.MatType.CV_8UC3, OpenCvSharp.Scalar.All(0));
        OpenCvSharp.Cv2.Polylines(mat, [[new OpenCvSharp.Point(30, 6), new OpenCvSharp.Point(54, 72), new OpenCvSharp.Point(6, 72)]], true,
            OpenCvSharp.Scalar.All(255), 2);
        return MatConversions.ToRgb(mat);
    }

    private static RgbImage CropBox(RgbImage image)
    {
        var px = new byte[Box.Width * Box.Height * 3];
        for (var y = 0; y < Box.Height; y++)
            Array.Copy(image.Pixels, ((Box.Y + y) * image.Width + Box.X) * 3, px, y * Box.Width * 3, Box.Width * 3);
        return new RgbImage(Box.Width, Box.Height, px);
    }

    private RgbImage Place(string prompt, uint seed, int steps, params UnitSpec[] units) => Place(prompt, seed, steps, null, units);

    private RgbImage Place(string prompt, uint seed, int steps, string? model, params UnitSpec[] units) => new Placer(f.Service).Place(new PlacementJob
    {
        Background = Background, Prompt = prompt, Seed = seed, Steps = steps, Feather = 3, Padding = 24, Model = model,
        Boxes = [new BoxPlacement { Box = Box, Units = units }],
    }).Image;

    // Measured on 5 seeds: canny 0.403 vs 0.178 on the inpainting model, 0.228 vs 0.099 on the plain one. The scribble
    // ControlNet does not reach 2x on a thin drawn outline (0.147 vs 0.178; 0.111 vs 0.099): issue 13's retraining.
    [Theory]
    [InlineData("canny", null)]
    [InlineData("canny", "tiny-sd")]
    public void A_canny_unit_puts_the_sketch_edges_in_the_box_at_least_twice_as_well_as_no_control(string condition, string? model)
    {
        var sketch = TriangleSketch();
        // The hint as the placement fits it: aspect kept, centred in the box.
        var scale = Math.Min((double)Box.Width / sketch.Width, (double)Box.Height / sketch.Height);
        var fitted = Engine.Imaging.ImageIo.Fit(sketch, (int)Math.Round(sketch.Width * scale), (int)Math.Round(sketch.Height * scale), Engine.Imaging.ResizeMode.JustResize);
        var reference = new byte[Box.Width * Box.Height * 3];
        int x0 = (Box.Width - fitted.Width) / 2, y0 = (Box.Height - fitted.Height) / 2;
        for (var y = 0; y < fitted.Height; y++) Array.Copy(fitted.Pixels, y * fitted.Width * 3, reference, ((y0 + y) * Box.Width + x0) * 3, fitted.Width * 3);
        var hint = new RgbImage(Box.Width, Box.Height, reference);
        double with = 0, without = 0;
        const int seeds = 5;
        for (uint s = 0; s < seeds; s++)
        {
            with += EdgeMetrics.CannyF1(hint, CropBox(Place("a green triangle", 30 + s, 12, model,
                new UnitSpec { Condition = condition, Image = sketch, Preprocess = false }))).F1;
            without += EdgeMetrics.CannyF1(hint, CropBox(Place("a green triangle", 30 + s, 12, model))).F1;
        }
        with /= seeds;
        without /= seeds;
        Assert.True(with >= 2 * without && with > 0.2, $"{condition} on {model ?? "the inpainting model"}: edge F1 inside the box {with:0.000} with the unit vs {without:0.000} without");
    }

    [Fact]
    public void The_prompt_colour_is_the_dominant_new_colour_in_the_box_for_most_seeds()
    {
        var hits = 0;
        const int seeds = 20;
        var seen = new List<string>();
        for (uint s = 0; s < seeds; s++)
        {
            var box = CropBox(Place("a blue square", 50 + s, 10));
            var before = CropBox(Background);
            var counts = new Dictionary<string, int>();
            for (var i = 0; i < box.Width * box.Height; i++)
            {
                int r = box.Pixels[3 * i], g = box.Pixels[3 * i + 1], b = box.Pixels[3 * i + 2];
                int dr = r - before.Pixels[3 * i], dg = g - before.Pixels[3 * i + 1], db = b - before.Pixels[3 * i + 2];
                if (dr * dr + dg * dg + db * db < 40 * 40) continue; // not new
                var name = Colours.MinBy(c => (c.R - r) * (c.R - r) + (c.G - g) * (c.G - g) + (c.B - b) * (c.B - b)).Name;
                counts[name] = counts.GetValueOrDefault(name) + 1;
            }
            var dominant = counts.Count == 0 ? "none" : counts.MaxBy(kv => kv.Value).Key;
            seen.Add(dominant);
            if (dominant == "blue") hits++;
        }
        Assert.True(hits >= 14, $"blue dominant in {hits} of {seeds} boxes: {string.Join(", ", seen)}");
    }

    private static string Dominant(RgbImage image, RgbImage before, PixelBox box)
    {
        var counts = new Dictionary<string, int>();
        for (var y = box.Y; y < box.Bottom; y++)
            for (var x = box.X; x < box.Right; x++)
            {
                var k = (y * image.Width + x) * 3;
                int r = image.Pixels[k], g = image.Pixels[k + 1], b = image.Pixels[k + 2];
                int dr = r - before.Pixels[k], dg = g - before.Pixels[k + 1], db = b - before.Pixels[k + 2];
                if (dr * dr + dg * dg + db * db < 40 * 40) continue;
                var name = Colours.MinBy(c => (c.R - r) * (c.R - r) + (c.G - g) * (c.G - g) + (c.B - b) * (c.B - b)).Name;
                counts[name] = counts.GetValueOrDefault(name) + 1;
            }
        return counts.Count == 0 ? "none" : counts.MaxBy(kv => kv.Value).Key;
    }

    [Fact]
    public void Each_of_several_boxes_follows_its_own_prompt_not_its_neighbours()
    {
        var a = new PixelBox(84, 4, 40, 56);
        var b = new PixelBox(2, 88, 36, 38);
        int own = 0, leaked = 0;
        const int seeds = 10;
        var seen = new List<string>();
        for (uint s = 0; s < seeds; s++)
        {
            var image = new Placer(f.Service).Place(new PlacementJob
            {
                Background = Background, Seed = 70 + s, Steps = 10, Feather = 3, Padding = 24,
                Boxes = [new BoxPlacement { Box = a, Prompt = "a green square" }, new BoxPlacement { Box = b, Prompt = "a pink circle" }],
            }).Image;
            var (da, db) = (Dominant(image, Background, a), Dominant(image, Background, b));
            seen.Add($"{da}/{db}");
            own += (da == "green" ? 1 : 0) + (db == "pink" ? 1 : 0);
            leaked += (da == "pink" ? 1 : 0) + (db == "green" ? 1 : 0);
        }
        // Leakage: how often a box took its neighbour's colour instead of its own.
        // Measured: own 17 of 20, the neighbour's 3 (box b's crop does not reach box a, so those are the model's own colour errors).
        Assert.True(own >= 14 && leaked <= 4, $"own colour {own} of {2 * seeds} boxes, the neighbour's {leaked}: {string.Join(", ", seen)}");
    }
    /// <summary>Evaluation objects (tests/fixtures/evalset-reference) the reference test places: a purple oval, a
    /// yellow blob, a pink ring, a blue star, a purple cross and a teal wobbly outline.</summary>
    private static readonly string[] ReferenceCases = ["ref1", "ref4", "ref5", "ref9", "ref10", "ref13"];

    /// <summary>One evaluation object's placement as both reference tests make it: the set's prompt, seed 7, 12 steps.</summary>
    private RgbImage PlaceReferenceCase(ReferenceSet set, RgbImage background, PixelBox box, UnitSpec[] units) => new Placer(f.Service).Place(new PlacementJob
    {
        Background = background, Prompt = set.Prompt, Seed = 7, Steps = 12, Boxes = [new BoxPlacement { Box = box, Units = units }],
    }).Image;

    [Fact]
    public void A_reference_unit_at_least_halves_the_colour_distance_to_the_object_and_raises_the_shape_iou()
    {
        var set = ReferenceSet.Load(Path.Combine(RepoPaths.Fixtures, "evalset-reference"));
        double colourWith = 0, colourWithout = 0, iouWith = 0, iouWithout = 0;
        foreach (var (_, _, _, box, background, picture, mask, target) in set.Cases.Where(c => ReferenceCases.Contains(c.Name)))
        {
            RgbImage PlaceObject(params UnitSpec[] units) => PlaceReferenceCase(set, background, box, units);
            var (cw, iw) = ReferenceEvaluation.Score(PlaceObject(new UnitSpec { Condition = "reference", Image = picture }), background, box, mask, target);
            var (co, io) = ReferenceEvaluation.Score(PlaceObject(), background, box, mask, target);
            (colourWith, colourWithout, iouWith, iouWithout) = (colourWith + cw, colourWithout + co, iouWith + iw, iouWithout + io);
        }
        var n = ReferenceCases.Length;
        var report = $"CIEDE2000 {colourWith / n:0.0} with the reference vs {colourWithout / n:0.0} without; shape IoU {iouWith / n:0.000} vs {iouWithout / n:0.000}";
        Assert.True(colourWith <= 0.5 * colourWithout && iouWith > iouWithout, report);
    }

    // The reference's tokens carry colour and size, not the outline (a shapeless square of the object's colour gets
    // the same IoU); a canny unit of the same picture is the spatial path the outline takes. Measured here (6
    // objects, 12 steps): IoU 0.614 with the reference and the canny unit, 0.543 with the shapeless reference, 0.534
    // with the reference alone; 0.440 when the canny hint is fitted into the box at 0.6 of its size.
    [Fact]
    public void A_canny_unit_of_the_object_picture_beside_the_reference_follows_the_outline_beyond_a_shapeless_reference()
    {
        var set = ReferenceSet.Load(Path.Combine(RepoPaths.Fixtures, "evalset-reference"));
        double iouOutline = 0, iouShapeless = 0;
        foreach (var (_, _, _, box, background, picture, mask, target) in set.Cases.Where(c => ReferenceCases.Contains(c.Name)))
        {
            RgbImage PlaceObject(params UnitSpec[] units) => PlaceReferenceCase(set, background, box, units);
            var reference = new UnitSpec { Condition = "reference", Image = picture };
            var canny = new UnitSpec { Condition = "canny", Image = ReferenceEvaluation.CroppedToObject(picture, set.Threshold) };
            var shapeless = new UnitSpec { Condition = "reference", Image = ReferenceEvaluation.ShapelessPicture(picture, set.Threshold) };
            iouOutline += ReferenceEvaluation.Score(PlaceObject(reference, canny), background, box, mask, target).IoU;
            iouShapeless += ReferenceEvaluation.Score(PlaceObject(shapeless), background, box, mask, target).IoU;
        }
        var n = ReferenceCases.Length;
        Assert.True(iouOutline >= iouShapeless + 0.05 * n,
            $"shape IoU {iouOutline / n:0.000} with the reference and a canny unit of the picture vs {iouShapeless / n:0.000} with a shapeless reference");
    }
}
