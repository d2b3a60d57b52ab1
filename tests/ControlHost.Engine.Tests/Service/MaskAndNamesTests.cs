using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;

namespace ControlHost.Engine.Tests.Service;

/// <summary>The inpainting mask's shapes and options, and the masked-content names, one behaviour at a time.</summary>
public class MaskAndNamesTests
{
    private static byte[] Build(InpaintSpec spec, int w = 40, int h = 30) => MaskBuilder.Build(spec, w, h, PathPolicy.Local);

    [Fact]
    public void A_polygon_fills_its_inside_only()
    {
        var mask = Build(new InpaintSpec { Polygon = [(5, 5), (30, 5), (5, 25)], MaskBlur = 0 });
        Assert.Equal(255, mask[8 * 40 + 8]);   // inside the triangle
        Assert.Equal(0, mask[22 * 40 + 28]);   // beyond its long side
        Assert.Equal(0, mask[2 * 40 + 2]);     // outside its bounds
        Assert.Equal(new PixelBox(5, 5, 26, 21), MaskBuilder.Bounds(mask, 40, 30));
    }

    [Fact]
    public void Invert_swaps_keep_and_generate()
    {
        var mask = Build(new InpaintSpec { Box = new PixelBox(10, 10, 5, 5), MaskBlur = 0, Invert = true });
        Assert.Equal(0, mask[12 * 40 + 12]);
        Assert.Equal(255, mask[0]);
    }

    [Fact]
    public void A_mask_image_counts_its_brightest_channel()
    {
        var px = new byte[40 * 30 * 3];
        px[(3 * 40 + 4) * 3 + 2] = 200; // a blue-painted pixel
        var mask = Build(new InpaintSpec { MaskImage = new RgbImage(40, 30, px), MaskBlur = 0 });
        Assert.Equal(200, mask[3 * 40 + 4]);
        Assert.Equal(1, mask.Count(v => v > 0));
    }

    [Fact]
    public void Blur_softens_the_edge_by_its_sigma_and_reaches_no_further_than_a_few_sigmas()
    {
        var sharp = Build(new InpaintSpec { Box = new PixelBox(10, 10, 20, 10), MaskBlur = 0 });
        var soft = Build(new InpaintSpec { Box = new PixelBox(10, 10, 20, 10), MaskBlur = 2 });
        Assert.Equal(0, sharp[15 * 40 + 9]);
        Assert.InRange(soft[15 * 40 + 9], 60, 200);   // one pixel outside: partly generated
        Assert.InRange(soft[15 * 40 + 10], 100, 254); // the edge itself: no longer fully
        Assert.Equal(0, soft[15 * 40 + 1]);           // 4.5 sigmas away: untouched
        var defaultBlur = Build(new InpaintSpec { Box = new PixelBox(10, 10, 20, 10) });
        Assert.NotEqual(sharp, defaultBlur); // A1111's default blur (4) applies when none is given
    }

    [Theory]
    [InlineData(-1, 0, "mask blur")]
    [InlineData(300, 0, "mask blur")]
    [InlineData(0, -2, "feather")]
    [InlineData(0, 300, "feather")]
    public void Out_of_range_blur_or_feather_is_refused(double blur, int feather, string expected)
    {
        var e = Assert.Throws<BadInputException>(() => Build(new InpaintSpec { Box = new PixelBox(1, 1, 5, 5), MaskBlur = blur, Feather = feather }));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_polygon_of_two_points_or_with_a_non_number_is_refused()
    {
        Assert.Contains("at least 3 points", Assert.Throws<BadInputException>(() => Build(new InpaintSpec { Polygon = [(0, 0), (5, 5)] })).Message);
        Assert.Contains("finite", Assert.Throws<BadInputException>(() => Build(new InpaintSpec { Polygon = [(0, 0), (5, double.NaN), (0, 5)] })).Message);
        Assert.Contains("a mask image, a box or a polygon", Assert.Throws<BadInputException>(() => Build(new InpaintSpec())).Message);
    }

    [Theory]
    [InlineData("fill", MaskedContent.Fill)]
    [InlineData("0", MaskedContent.Fill)]
    [InlineData("original", MaskedContent.Original)]
    [InlineData("1", MaskedContent.Original)]
    [InlineData("latent-noise", MaskedContent.LatentNoise)]
    [InlineData("latent noise", MaskedContent.LatentNoise)]
    [InlineData("2", MaskedContent.LatentNoise)]
    [InlineData("Latent_Nothing", MaskedContent.LatentNothing)]
    [InlineData("3", MaskedContent.LatentNothing)]
    public void Masked_content_reads_a1111s_words_numbers_and_cli_spellings(string text, MaskedContent expected)
    {
        Assert.Equal(expected, InpaintNames.TryParseContent(text));
        Assert.Equal(expected, InpaintNames.TryParseContent(InpaintNames.Format(expected))); // the infotext's word reads back
    }

    [Fact]
    public void An_unknown_masked_content_is_not_guessed()
    {
        Assert.Null(InpaintNames.TryParseContent("4"));
        Assert.Null(InpaintNames.TryParseContent("latent"));
        Assert.Equal(["fill", "original", "latent noise", "latent nothing"], Enum.GetValues<MaskedContent>().Select(InpaintNames.Format));
    }

    [Fact]
    public void Sampler_aliases_are_the_other_spellings_of_that_sampler_only()
    {
        Assert.Equal(["euler_a", "euler_ancestral", "k_euler_a"], SamplerNames.AliasesOf("Euler a").Order());
        Assert.DoesNotContain("euler", SamplerNames.AliasesOf("Euler a"));
        Assert.Empty(SamplerNames.AliasesOf("no such sampler"));
    }

    [Fact]
    public void A_box_parses_from_text_and_measures_overlap()
    {
        Assert.Equal(new PixelBox(1, 2, 30, 40), PixelBox.Parse(" 1, 2,30 ,40 "));
        Assert.Equal("1,2,30,40", new PixelBox(1, 2, 30, 40).ToString());
        Assert.Throws<FormatException>(() => PixelBox.Parse("1,2,3"));
        Assert.Throws<FormatException>(() => PixelBox.Parse("1,2,3,x"));
        Assert.Equal(1.0, new PixelBox(0, 0, 10, 10).IoU(new PixelBox(0, 0, 10, 10)));
        Assert.Equal(25.0 / 175, new PixelBox(0, 0, 10, 10).IoU(new PixelBox(5, 5, 10, 10)), 9);
        Assert.Equal(0, new PixelBox(0, 0, 10, 10).IoU(new PixelBox(10, 0, 10, 10))); // touching is not overlapping
    }

    [Theory]
    [InlineData("balanced", Engine.Conditioning.ControlMode.Balanced)]
    [InlineData("0", Engine.Conditioning.ControlMode.Balanced)]
    [InlineData("prompt-first", Engine.Conditioning.ControlMode.PromptFirst)]
    [InlineData("My prompt is more important", Engine.Conditioning.ControlMode.PromptFirst)]
    [InlineData("1", Engine.Conditioning.ControlMode.PromptFirst)]
    [InlineData("control_first", Engine.Conditioning.ControlMode.ControlFirst)]
    [InlineData("ControlNet is more important", Engine.Conditioning.ControlMode.ControlFirst)]
    [InlineData("2", Engine.Conditioning.ControlMode.ControlFirst)]
    public void Control_modes_read_the_extensions_labels_numbers_and_cli_spellings(string text, Engine.Conditioning.ControlMode expected)
    {
        Assert.Equal(expected, UnitNames.TryParseControlMode(text));
        Assert.Equal(expected, UnitNames.TryParseControlMode(UnitNames.Format(expected)));
        Assert.Equal((int)expected, UnitNames.Number(expected));
    }

    [Theory]
    [InlineData("just-resize", Engine.Imaging.ResizeMode.JustResize)]
    [InlineData("Just Resize", Engine.Imaging.ResizeMode.JustResize)]
    [InlineData("0", Engine.Imaging.ResizeMode.JustResize)]
    [InlineData("crop", Engine.Imaging.ResizeMode.CropAndResize)]
    [InlineData("Inner Fit (Scale to Fit)", Engine.Imaging.ResizeMode.CropAndResize)]
    [InlineData("1", Engine.Imaging.ResizeMode.CropAndResize)]
    [InlineData("fill", Engine.Imaging.ResizeMode.ResizeAndFill)]
    [InlineData("Envelope (Outer Fit)", Engine.Imaging.ResizeMode.ResizeAndFill)]
    [InlineData("2", Engine.Imaging.ResizeMode.ResizeAndFill)]
    public void Resize_modes_read_the_extensions_labels_numbers_and_cli_spellings(string text, Engine.Imaging.ResizeMode expected)
    {
        Assert.Equal(expected, UnitNames.TryParseResizeMode(text));
        Assert.Equal(expected, UnitNames.TryParseResizeMode(UnitNames.Format(expected)));
    }

    [Fact]
    public void Unknown_modes_are_not_guessed_and_labels_are_the_extensions()
    {
        Assert.Null(UnitNames.TryParseControlMode("3"));
        Assert.Null(UnitNames.TryParseResizeMode("stretch"));
        Assert.Equal("Balanced", UnitNames.Format(Engine.Conditioning.ControlMode.Balanced));
        Assert.Equal("My prompt is more important", UnitNames.Format(Engine.Conditioning.ControlMode.PromptFirst));
        Assert.Equal("ControlNet is more important", UnitNames.Format(Engine.Conditioning.ControlMode.ControlFirst));
        Assert.Equal("Just Resize", UnitNames.Format(Engine.Imaging.ResizeMode.JustResize));
        Assert.Equal("Crop and Resize", UnitNames.Format(Engine.Imaging.ResizeMode.CropAndResize));
        Assert.Equal("Resize and Fill", UnitNames.Format(Engine.Imaging.ResizeMode.ResizeAndFill));
        foreach (var name in SamplerNames.Names) Assert.Equal(name, SamplerNames.Format(SamplerNames.TryParse(name)!.Value));
        Assert.Equal(Engine.Scheduling.SamplerId.DpmPlusPlus2MKarras, SamplerNames.TryParse(" k_dpmpp_2m_karras "));
        Assert.Null(SamplerNames.TryParse("LMS"));
        Assert.Equal(Engine.Scheduling.SamplerId.UniPc, SamplerNames.TryParse("unipc"));
        Assert.Equal(Engine.Scheduling.SamplerId.Lcm, SamplerNames.TryParse("k_lcm"));
    }
}
