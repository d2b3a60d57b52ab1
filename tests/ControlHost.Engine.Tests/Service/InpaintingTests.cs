using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Tests.Service;

/// <summary>Inpainting with A1111's semantics through the service, on the embedded models.</summary>
public class InpaintingTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    // A background larger than the working size and of another aspect, so only-masked really crops and scales.
    private static readonly RgbImage Background = ImageIo.Fit(EmbeddedModelFixture.Scene(2), 200, 152, ResizeMode.JustResize);

    private GenerationOutput Inpaint(InpaintSpec spec, string? model = null, int steps = 4, params UnitSpec[] units) =>
        f.Service.Generate(new GenerationJob
        {
            Prompt = "a green circle", Seed = 5, Steps = steps, CfgScale = 4, Width = 128, Height = 128, Strength = 1,
            InitImage = Background, Inpaint = spec, Model = model, Units = units,
        });

    /// <summary>Pixels of the result that differ from the background where the plan's source mask is 0.</summary>
    private static int ChangedOutside(RgbImage result, byte[] sourceMask)
    {
        var changed = 0;
        for (var i = 0; i < sourceMask.Length; i++)
            if (sourceMask[i] == 0)
                for (var c = 0; c < 3; c++)
                    if (result.Pixels[3 * i + c] != Background.Pixels[3 * i + c]) changed++;
        return changed;
    }

    public static TheoryData<bool, string?, MaskedContent> Paths()
    {
        var data = new TheoryData<bool, string?, MaskedContent>();
        foreach (var onlyMasked in new[] { false, true })
            foreach (var model in new string?[] { null, "tiny-sd-inpainting" })
                foreach (var content in Enum.GetValues<MaskedContent>())
                    data.Add(onlyMasked, model, content);
        return data;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Not_one_pixel_changes_outside_the_mask_in_any_path(bool onlyMasked, string? model, MaskedContent content)
    {
        var spec = new InpaintSpec { Box = new PixelBox(61, 40, 45, 38), MaskBlur = 3, Feather = 4, OnlyMasked = onlyMasked, Content = content };
        var output = Inpaint(spec, model);
        var result = output.Images[0].Image;
        Assert.Equal((200, 152), (result.Width, result.Height)); // the init image's size, not the working size
        var mask = MaskBuilder.Build(spec, 200, 152, PathPolicy.Local);
        Assert.Equal(0, ChangedOutside(result, mask));
        // ...and inside the box something was generated.
        var inside = 0;
        for (var y = 40; y < 78; y++)
            for (var x = 61; x < 106; x++)
                if (result.Pixels[(y * 200 + x) * 3] != Background.Pixels[(y * 200 + x) * 3]) inside++;
        Assert.True(inside > 45 * 38 / 4, $"only {inside} pixels changed inside the box");
        Assert.Contains($"Masked content: {Application.Names.InpaintNames.Format(content)}", output.Images[0].Infotext);
    }

    [Fact]
    public void The_feather_band_is_the_only_soft_part_and_ends_where_documented()
    {
        var mask = MaskBuilder.Build(new InpaintSpec { Box = new PixelBox(50, 50, 20, 20), MaskBlur = 0, Feather = 6 }, 200, 152, PathPolicy.Local);
        Assert.Equal(255, mask[60 * 200 + 60]);                 // inside
        Assert.InRange(mask[60 * 200 + 72], 100, 254);           // 3 px out: half way
        Assert.Equal(0, mask[60 * 200 + 76]);                    // 7 px out: untouched
        Assert.Equal(0, mask[60 * 200 + 43]);
    }

    [Fact]
    public void Masked_content_modes_start_the_region_differently()
    {
        var box = new PixelBox(61, 40, 45, 38);
        RgbImage Run(MaskedContent c) => Inpaint(new InpaintSpec { Box = box, MaskBlur = 0, Content = c }, steps: 6).Images[0].Image;
        var seen = Enum.GetValues<MaskedContent>().Select(Run).ToList();
        for (var a = 0; a < seen.Count; a++)
            for (var b = a + 1; b < seen.Count; b++)
                Assert.False(seen[a].Pixels.AsSpan().SequenceEqual(seen[b].Pixels), $"{(MaskedContent)a} and {(MaskedContent)b} gave the same image");
    }

    [Fact]
    public void Fill_paints_the_region_from_its_surroundings_before_encoding()
    {
        var plan = InpaintPlan.Create(Background, new InpaintSpec { Box = new PixelBox(61, 40, 45, 38), MaskBlur = 0, Content = MaskedContent.Fill, OnlyMasked = true },
            128, 128, PathPolicy.Local);
        var original = InpaintPlan.Create(Background, new InpaintSpec { Box = new PixelBox(61, 40, 45, 38), MaskBlur = 0, OnlyMasked = true },
            128, 128, PathPolicy.Local);
        // Inside the region the filled init differs from the original; outside it they are the same canvas.
        int inside = 0, outsideDiff = 0;
        for (var i = 0; i < 128 * 128; i++)
        {
            var masked = plan.WorkingMask.Pixels[3 * i] > 0;
            var differs = plan.WorkingInit.Pixels[3 * i] != original.WorkingInit.Pixels[3 * i];
            if (masked && differs) inside++;
            if (!masked && differs) outsideDiff++;
        }
        Assert.True(inside > 100, $"fill changed only {inside} pixels inside");
        Assert.Equal(0, outsideDiff);
    }

    [Fact]
    public void Only_masked_generates_a_small_box_at_the_working_size_and_moves_unit_hints_with_the_same_transform()
    {
        var spec = new InpaintSpec { Box = new PixelBox(61, 40, 30, 24), OnlyMasked = true, Padding = 8 };
        var plan = InpaintPlan.Create(Background, spec, 128, 128, PathPolicy.Local);
        Assert.True(plan.Transform.Scale > 1.5, $"scale {plan.Transform.Scale}");
        var hint = ImageIo.Fit(EmbeddedModelFixture.Scene(4), 200, 152, ResizeMode.JustResize);
        var unit = plan.OnCanvas(new UnitSpec { Condition = "canny", Image = hint }, 0, PathPolicy.Local, spatial: true);
        Assert.Equal(plan.Transform.ApplyHint(hint).Pixels, unit.Image.Load(PathPolicy.Local, "unit").Pixels);
        Assert.Equal(ResizeMode.JustResize, unit.Resize);
        // And the whole job runs with that unit, leaving the outside untouched.
        var output = Inpaint(spec, null, 4, new UnitSpec { Condition = "canny", Image = hint });
        Assert.Equal(0, ChangedOutside(output.Images[0].Image, plan.SourceMask));
        Assert.Contains("Inpaint area: Only masked", output.Images[0].Infotext);
    }

    [Theory]
    [InlineData(190, 10, 20, 20, "outside")]
    [InlineData(10, 10, 0, 20, "at least 1 pixel")]
    [InlineData(-1, 10, 20, 20, "outside")]
    public void A_bad_box_is_refused_naming_the_problem(int x, int y, int w, int h, string expected)
    {
        var e = Assert.Throws<BadInputException>(() => Inpaint(new InpaintSpec { Box = new PixelBox(x, y, w, h) }));
        Assert.Contains(expected, e.Message);
        Assert.Equal("mask", e.Field);
    }

    [Fact]
    public void A_box_touching_the_border_works()
    {
        var spec = new InpaintSpec { Box = new PixelBox(150, 100, 50, 52), MaskBlur = 0, OnlyMasked = true };
        var output = Inpaint(spec);
        Assert.Equal(0, ChangedOutside(output.Images[0].Image, MaskBuilder.Build(spec, 200, 152, PathPolicy.Local)));
    }

    [Fact]
    public void A_mask_of_another_size_an_empty_mask_and_two_regions_are_refused()
    {
        var small = Assert.Throws<BadInputException>(() => Inpaint(new InpaintSpec { MaskImage = RgbImage.Black(128, 128) }));
        Assert.Contains("128x128 but the init image is 200x152", small.Message);
        var empty = Assert.Throws<BadInputException>(() => Inpaint(new InpaintSpec { MaskImage = RgbImage.Black(200, 152) }));
        Assert.Contains("the mask is empty", empty.Message);
        var inverted = Assert.Throws<BadInputException>(() => Inpaint(new InpaintSpec { Box = new PixelBox(0, 0, 200, 152), Invert = true }));
        Assert.Contains("inverted mask is empty", inverted.Message);
        var two = Assert.Throws<BadInputException>(() => Inpaint(new InpaintSpec { Box = new PixelBox(0, 0, 20, 20), Polygon = [(0, 0), (5, 0), (0, 5)] }));
        Assert.Contains("not several", two.Message);
    }
}
