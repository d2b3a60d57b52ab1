using ControlHost.Application.Sources;
using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Pipeline;
using ControlHost.Evaluation;
using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests;

/// <summary>
/// Stacked units on the embedded model, on held-out scenes (tests/fixtures/evalset): each unit keeps its effect
/// while the others run, a region mask confines a unit, and the colour unit pulls the colours to its target.
/// </summary>
public class StackingTests(EmbeddedModelFixture f, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<EmbeddedModelFixture>
{
    private static readonly string EvalDir = Path.Combine(RepoPaths.Fixtures, "evalset");
    private static readonly JsonElement[] Scenes = LoadScenes();
    private static readonly string[] Plain = Scenes.Where(s => !s.GetProperty("person").GetBoolean()).Select(s => s.GetProperty("name").GetString()!).Take(2).ToArray();

    private static JsonElement[] LoadScenes()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(EvalDir, "scenes.json")));
        return doc.RootElement.GetProperty("scenes").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static RgbImage Map(string scene, string condition) => ImageIo.Load(Path.Combine(EvalDir, $"{scene}.{condition}.png"));
    private static string Caption(string scene) => Scenes.First(s => s.GetProperty("name").GetString() == scene).GetProperty("caption").GetString()!;
    private static UnitSpec Ready(string condition, RgbImage map, RgbImage? mask = null) =>
        new() { Condition = condition, Image = map, Preprocess = false, Mask = mask is null ? null : ImageSource.FromImage(mask) };

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Each_stacked_unit_keeps_its_adherence_well_above_no_control(int count)
    {
        var conditions = new[] { "canny", "seg", "depth" }[..count];
        var scores = new Func<RgbImage, RgbImage, double>[] { (c, g) => EdgeMetrics.CannyF1(c, g).F1, Adherence.SegmentationMeanIoU, Adherence.DepthSpearman };
        var with = new double[count];
        var without = new double[count];
        foreach (var scene in Plain)
            for (uint seed = 0; seed < 2; seed++)
            {
                var maps = conditions.Select(c => Map(scene, c)).ToArray();
                var stacked = f.Generate(Caption(scene), seed, conditions.Select((c, i) => Ready(c, maps[i])).ToArray()).Image;
                var plain = f.Generate(Caption(scene), seed).Image;
                for (var i = 0; i < count; i++)
                {
                    with[i] += scores[i](maps[i], stacked);
                    without[i] += scores[i](maps[i], plain);
                }
            }
        for (var i = 0; i < count; i++)
            output.WriteLine($"{conditions[i]} with {count} units: {with[i] / 4:0.000} vs {without[i] / 4:0.000} without control");
        for (var i = 0; i < count; i++)
            Assert.True(with[i] > 1.5 * without[i] && with[i] - without[i] > 0.1,
                $"{conditions[i]} with {count} units: {with[i] / 4:0.000} vs {without[i] / 4:0.000} without control");
    }

    [Theory]
    [InlineData("canny", true, "controlnet-tiny-canny")]
    [InlineData("lsd", true, "controlnet-tiny-lines")]
    [InlineData("scribble", true, "controlnet-tiny-scribble")]
    [InlineData("intensity", true, "controlnet-tiny-intensity")]
    [InlineData("depth", true, "controlnet-tiny-depth")]   // no model: the image is taken as a depth map
    [InlineData("seg", true, "controlnet-tiny-seg")]       // no model: colour regions
    [InlineData("pose", false, "controlnet-tiny-pose")]    // a ready pose map
    public void Shipped_condition_types_bind_to_the_embedded_controlnets(string condition, bool preprocess, string expected)
    {
        var unit = Assert.Single(f.Units(new UnitSpec { Condition = condition, Image = Map(Plain[0], "depth"), Preprocess = preprocess }));
        Assert.Equal(expected, unit.ModelName);
    }

    [Fact]
    public void Processor_resolution_is_recorded_and_pixel_perfect_is_the_default()
    {
        var scene = EmbeddedModelFixture.Scene(2);
        var job = new GenerationJob { Prompt = "a red square", Seed = 3, Steps = 2, CfgScale = 5, Width = 128, Height = 128 };
        var pixelPerfect = f.Service.Generate(job with { Units = [new UnitSpec { Condition = "canny", Image = scene }] }).Images[0];
        Assert.Contains("Processor Res: 128, Pixel Perfect: True", pixelPerfect.Infotext);
        var coarse = f.Service.Generate(job with { Units = [new UnitSpec { Condition = "canny", Image = scene, ProcessorResolution = 64 }] }).Images[0];
        Assert.Contains("Processor Res: 64, Pixel Perfect: False", coarse.Infotext);
        // Canny at half the resolution, enlarged, is another hint: the images differ.
        Assert.NotEqual(pixelPerfect.Image.Pixels, coarse.Image.Pixels);
        Assert.Throws<BadInputException>(() => f.Units(new UnitSpec { Condition = "canny", Image = scene, ProcessorResolution = 5000 }));
    }

    [Fact]
    public void A_region_mask_confines_a_unit_to_its_region()
    {
        // The canny unit is masked to the left half: what it adds to the edge recall (over no control) should be
        // on the left, with little on the right. Columns near the border are left out (the 4x4 residual blurs it).
        var left = Masks.Box(128, 128, 0, 0, 64, 128);
        double gainInside = 0, gainOutside = 0;
        foreach (var scene in Plain)
            for (uint seed = 0; seed < 2; seed++)
            {
                var edges = Map(scene, "canny");
                var masked = f.Generate(Caption(scene), seed, Ready("canny", edges, left)).Image;
                var none = f.Generate(Caption(scene), seed).Image;
                gainInside += Recall(edges, masked, 0, 56) - Recall(edges, none, 0, 56);
                gainOutside += Recall(edges, masked, 72, 128) - Recall(edges, none, 72, 128);
            }
        gainInside /= 4;
        gainOutside /= 4;
        output.WriteLine($"edge recall gained {gainInside:0.000} inside the mask and {gainOutside:0.000} outside");
        Assert.True(gainInside > 0.15 && gainInside > 3 * Math.Max(gainOutside, 0.01),
            $"edge recall gained {gainInside:0.000} inside the mask and {gainOutside:0.000} outside");
    }

    /// <summary>Edge recall (2 px) of the control's edges within columns [x0, x1).</summary>
    private static double Recall(RgbImage control, RgbImage generated, int x0, int x1) =>
        EdgeMetrics.CannyF1(Columns(control, x0, x1), Columns(generated, x0, x1)).Recall;

    private static RgbImage Columns(RgbImage image, int x0, int x1)
    {
        var w = x1 - x0;
        var px = new byte[w * image.Height * 3];
        for (var y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, (y * image.Width + x0) * 3, px, y * w * 3, w * 3);
        return new RgbImage(w, image.Height, px);
    }

    [Fact]
    public void The_colour_unit_at_least_halves_the_histogram_distance_to_its_target()
    {
        double with = 0, without = 0;
        var colours = JsonDocument.Parse(File.ReadAllText(Path.Combine(EvalDir, "scenes.json"))).RootElement.GetProperty("colours")
            .EnumerateObject().Select(c => c.Name).ToHashSet();
        for (var i = 0; i < 3; i++)
        {
            var target = ImageIo.Load(Path.Combine(EvalDir, Scenes[i + 1].GetProperty("name").GetString() + ".png"));
            var hist = ColourHistogram.Compute(target);
            var caption = Captions.WithoutColours(Scenes[i].GetProperty("caption").GetString()!, colours);
            with += ColourHistogram.Distance(hist, ColourHistogram.Compute(f.Generate(caption, 0, new UnitSpec { Condition = "colour", Image = target }).Image));
            without += ColourHistogram.Distance(hist, ColourHistogram.Compute(f.Generate(caption, 0).Image));
        }
        output.WriteLine($"histogram distance {with / 3:0.000} with the colour unit vs {without / 3:0.000} without");
        Assert.True(with <= 0.5 * without, $"distance {with / 3:0.000} with the colour unit vs {without / 3:0.000} without");
    }
}
