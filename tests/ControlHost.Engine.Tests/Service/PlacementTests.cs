using ControlHost.Application.Jobs;
using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Placement;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Tests.Service;

/// <summary>Box placement on the embedded models: nothing outside the boxes changes, the record repeats it, bad
/// boxes are refused; suggested boxes are deterministic and find where objects were.</summary>
public class PlacementTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    private static readonly RgbImage Background = ImageIo.Fit(EmbeddedModelFixture.Scene(2), 192, 160, ResizeMode.JustResize);

    /// <summary>An outline sketch of a tall rectangle, the object alone.</summary>
    private static RgbImage Sketch()
    {
        var px = new byte[60 * 90 * 3];
        for (var y = 8; y < 82; y++)
            for (var x = 8; x < 52; x++)
                if (x < 11 || x >= 49 || y < 11 || y >= 79) px[(y * 60 + x) * 3] = px[(y * 60 + x) * 3 + 1] = px[(y * 60 + x) * 3 + 2] = 255;
        return new RgbImage(60, 90, px);
    }

    private PlacementJob Job(params BoxPlacement[] boxes) => new()
    {
        Background = Background, Boxes = boxes, Prompt = "a green square", Steps = 4, Seed = 9, Feather = 3, Padding = 16,
    };

    private static int ChangedOutside(RgbImage result, IEnumerable<PixelBox> boxes, int band)
    {
        var changed = 0;
        for (var y = 0; y < result.Height; y++)
            for (var x = 0; x < result.Width; x++)
            {
                // The box grown by the feather band (plus one pixel for its rounded corners).
                if (boxes.Any(b => x >= b.X - band - 1 && x < b.Right + band + 1 && y >= b.Y - band - 1 && y < b.Bottom + band + 1)) continue;
                var i = (y * result.Width + x) * 3;
                if (result.Pixels[i] != Background.Pixels[i] || result.Pixels[i + 1] != Background.Pixels[i + 1] || result.Pixels[i + 2] != Background.Pixels[i + 2]) changed++;
            }
        return changed;
    }

    [Theory]
    [InlineData(Harmonization.Off, null)]
    [InlineData(Harmonization.Reinhard, null)]
    [InlineData(Harmonization.Poisson, null)]
    [InlineData(Harmonization.Off, "tiny-sd")]
    public void Nothing_outside_the_boxes_and_their_feather_changes_with_several_boxes(Harmonization harmonize, string? model)
    {
        var boxes = new[]
        {
            new BoxPlacement { Box = new PixelBox(20, 30, 40, 60), Units = [new UnitSpec { Condition = "scribble", Image = Sketch(), Preprocess = false }] },
            new BoxPlacement { Box = new PixelBox(120, 90, 50, 50), Prompt = "a blue circle" },
            new BoxPlacement { Box = new PixelBox(150, 0, 42, 30), Prompt = "a red star" }, // touching the border
        };
        var result = new Placer(f.Service).Place(Job(boxes) with { Harmonize = harmonize, Model = model });
        Assert.Equal((192, 160), (result.Image.Width, result.Image.Height));
        Assert.Equal(0, ChangedOutside(result.Image, boxes.Select(b => b.Box), 3));
        Assert.Equal([9u, 10u, 11u], result.Boxes.Select(b => b.Seed));
        Assert.Equal(["a green square", "a blue circle", "a red star"], result.Boxes.Select(b => b.Prompt));
        foreach (var b in boxes)
        {
            var changed = 0;
            for (var y = b.Box.Y; y < b.Box.Bottom; y++)
                for (var x = b.Box.X; x < b.Box.Right; x++)
                    if (result.Image.Pixels[(y * 192 + x) * 3] != Background.Pixels[(y * 192 + x) * 3]) changed++;
            Assert.True(changed > b.Box.Width * b.Box.Height / 3, $"box {b.Box}: only {changed} pixels generated");
        }
    }

    [Fact]
    public void Harmonisation_modes_change_only_the_box_and_differ_from_none()
    {
        var box = new BoxPlacement { Box = new PixelBox(40, 40, 60, 50) };
        var images = Enum.GetValues<Harmonization>().Select(h => new Placer(f.Service).Place(Job(box) with { Harmonize = h }).Image).ToList();
        Assert.False(images[0].Pixels.AsSpan().SequenceEqual(images[1].Pixels));
        Assert.False(images[0].Pixels.AsSpan().SequenceEqual(images[2].Pixels));
        Assert.All(images, i => Assert.Equal(0, ChangedOutside(i, [box.Box], 3)));
    }

    [Fact]
    public async Task The_record_repeats_the_placement_byte_for_byte()
    {
        var dir = Directory.CreateTempSubdirectory("place-");
        try
        {
            var bgPath = Path.Combine(dir.FullName, "bg.png");
            var sketchPath = Path.Combine(dir.FullName, "sketch.png");
            PngParameters.Save(Background, bgPath, null);
            PngParameters.Save(Sketch(), sketchPath, null);
            var job = new PlacementJob
            {
                Background = ImageSource.FromPath(bgPath), Prompt = "a yellow square", Steps = 3, Seed = -1, Feather = 2, Padding = 10,
                Harmonize = Harmonization.Reinhard,
                Boxes = [new BoxPlacement { Box = new PixelBox(30, 20, 50, 70), Units = [new UnitSpec { Condition = "canny", Image = ImageSource.FromPath(sketchPath), Weight = 0.8f }] },
                         new BoxPlacement { Box = new PixelBox(100, 40, 40, 40), Prompt = "a pink circle" }],
            };
            // As the CLI runs it: a document with the files by value, kept by hash; the record then names them by hash.
            var store = new MemoryBlobStore();
            var document = new JobDocument { Place = JobMapping.FromJob(job, JobMapping.ByValue(PathPolicy.Local)) };
            await JobImages.ByHashAsync(document, store);
            var runner = new JobRunner(f.Service);
            var first = runner.Run(document, await JobImages.FetchAsync(document, store));
            var record = PlacementRecord.Read(first.Parameters.ToJson(), "record", PathPolicy.Local);
            Assert.All(record.Images(), i => Assert.Null(i.Image.Data)); // by hash: the record carries no image
            var again = runner.Run(record, await JobImages.FetchAsync(record, store));
            Assert.Equal(first.Images[0].Png.Data, again.Images[0].Png.Data);
            using var doc = JsonDocument.Parse(first.Parameters.ToJson());
            var place = doc.RootElement.GetProperty("place");
            Assert.Equal("30,20,50,70", place.GetProperty("boxes")[0].GetProperty("box").GetString());
            Assert.NotEqual(-1, place.GetProperty("seed").GetInt64()); // the seed it ran with, not -1
            Assert.Equal(first.Images[0].Seed, place.GetProperty("seed").GetInt64());
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Theory]
    [InlineData(150, 10, 50, 30, false, "reaches outside")]
    [InlineData(10, 10, 0, 30, false, "at least 1 pixel")]
    [InlineData(30, 40, 30, 30, false, "overlap")]
    public void Bad_boxes_are_refused_naming_the_problem(int x, int y, int w, int h, bool allowOverlap, string expected)
    {
        var job = Job(new BoxPlacement { Box = new PixelBox(20, 30, 40, 60) }, new BoxPlacement { Box = new PixelBox(x, y, w, h) }) with { AllowOverlap = allowOverlap };
        var e = Assert.Throws<BadInputException>(() => new Placer(f.Service).Place(job));
        Assert.Contains(expected, e.Message);
        Assert.Equal("boxes[1]", e.Field);
    }

    [Fact]
    public void Overlapping_boxes_run_when_allowed_and_no_boxes_is_an_error()
    {
        var job = Job(new BoxPlacement { Box = new PixelBox(20, 30, 40, 60) }, new BoxPlacement { Box = new PixelBox(30, 40, 30, 30) }) with { AllowOverlap = true };
        Assert.Equal(2, new Placer(f.Service).Place(job).Boxes.Count);
        Assert.Contains("no boxes", Assert.Throws<BadInputException>(() => new Placer(f.Service).Place(Job())).Message);
    }

    [Fact]
    public void Suggested_boxes_are_deterministic_ranked_and_explained()
    {
        var a = BoxSuggester.Suggest(Background, 30, 40, 5);
        var b = BoxSuggester.Suggest(Background, 30, 40, 5);
        Assert.Equal(a, b);
        Assert.Equal(5, a.Count);
        Assert.True(a.Zip(a.Skip(1)).All(p => p.First.Coverage >= p.Second.Coverage));
        Assert.All(a, s => Assert.Equal(SuggestWeights.Default.Free * s.FreeSpace + SuggestWeights.Default.Support * s.Support + SuggestWeights.Default.Scale * s.Scale, s.Score, 9));
        Assert.All(a, s => Assert.True(s.Box.X >= 0 && s.Box.Right <= 192 && s.Box.Bottom <= 160));
        Assert.Throws<BadInputException>(() => BoxSuggester.Suggest(Background, 300, 40));
    }

    /// <summary>The forge's world is flat shapes on flat backgrounds with no ground plane, so support and perspective
    /// (priors for photos) say nothing there; free space is what the scenes can test. The default weights are
    /// measured beside it in the note.</summary>
    [Fact]
    public void Suggested_boxes_find_where_an_object_was_more_often_than_random_placement()
    {
        var weights = SuggestWeights.FreeSpaceOnly;
        var dir = Path.Combine(RepoPaths.Root, "tests", "fixtures", "suggest");
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "boxes.json")));
        int hits = 0, scenes = 0;
        double randomExpected = 0;
        foreach (var s in doc.RootElement.GetProperty("scenes").EnumerateArray())
        {
            var b = s.GetProperty("box").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            var truth = new PixelBox(b[0], b[1], b[2], b[3]);
            var image = ImageIo.Load(Path.Combine(dir, s.GetProperty("name").GetString() + ".png"));
            var top = BoxSuggester.Suggest(image, truth.Width, truth.Height, 5, weights);
            if (top.Any(t => t.Box.IoU(truth) >= 0.5)) hits++;
            // Random placement: the chance that one of 5 uniformly placed boxes of that size lands on it.
            int good = 0, all = 0;
            for (var y = 0; y + truth.Height <= image.Height; y++)
                for (var x = 0; x + truth.Width <= image.Width; x++, all++)
                    if (new PixelBox(x, y, truth.Width, truth.Height).IoU(truth) >= 0.5) good++;
            randomExpected += 1 - Math.Pow(1 - (double)good / all, 5);
            scenes++;
        }
        var rate = (double)hits / scenes;
        var random = randomExpected / scenes;
        Assert.True(rate > random * 1.5, $"{weights}: top-5 hit rate {rate:0.000} vs random {random:0.000} over {scenes} scenes");
    }

    [Fact]
    public void The_placement_record_keeps_each_units_resize_resolution_mask_and_union_type()
    {
        var dir = Directory.CreateTempSubdirectory("record-");
        try
        {
            string File(string name, RgbImage image)
            {
                var path = Path.Combine(dir.FullName, name);
                PngParameters.Save(image, path, null);
                return path;
            }
            var (bg, sketch, half) = (File("bg.png", Background), File("sketch.png", Sketch()), File("left-half.png", RgbImage.Black(8, 8)));
            var unit = new UnitSpec
            {
                Condition = "canny", Image = ImageSource.FromPath(sketch), Resize = ResizeMode.JustResize, ProcessorResolution = 256,
                Mask = ImageSource.FromPath(half), UnionType = "Hard Edge",
            };
            var job = new PlacementJob { Background = ImageSource.FromPath(bg), Boxes = [new BoxPlacement { Box = new PixelBox(1, 2, 30, 40), Units = [unit] }] };
            var back = PlacementRecord.Read(PlacementRecord.Document(job, "tiny-sd", 7, PathPolicy.Local).ToJson(), "record", PathPolicy.Local).Place!.Boxes![0].Units![0];
            Assert.Equal(("Just Resize", 256, ImageRef.HashOf(System.IO.File.ReadAllBytes(half)), "Hard Edge"), (back.Resize, back.ProcessorResolution, back.Mask?.Sha256, back.UnionType));
            // A record of the first form (files by path, written before these fields) reads with the defaults the units ran with.
            var old = PlacementRecord.Read($$"""{"version":1,"background":"{{bg}}","seed":7,"padding":16,"feather":4,"harmonize":"off","allow_overlap":false,"boxes":[{"box":"1,2,30,40","units":[{"condition":"canny","image":"{{sketch}}","weight":1,"start":0,"end":1,"mode":"balanced","preprocess":true}]}]}""", "old", PathPolicy.Local).Place!;
            Assert.Equal(("Crop and Resize", 0, (ImageRef?)null, 7L), (old.Boxes![0].Units![0].Resize, old.Boxes[0].Units![0].ProcessorResolution, old.Boxes[0].Units![0].Mask, old.Seed));
            Assert.Equal(System.IO.File.ReadAllBytes(sketch), old.Boxes[0].Units![0].Image!.Data);
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
