using ControlHost.Abstractions;

namespace ControlHost.Preprocessors.Tests;

public class RegistryTests
{
    [Theory]
    [InlineData("canny", "canny")]
    [InlineData("mlsd", "lsd")]
    [InlineData("scribble_xdog", "scribble")]
    [InlineData("openpose", "openpose")]
    [InlineData("depth_midas", "depth")]
    [InlineData("seg_ofade20k", "seg")]
    [InlineData("color", "colour_grid")]
    [InlineData("shuffle", "shuffle")]
    [InlineData("tile_resample", "tile")]
    [InlineData("invert", "invert")]
    [InlineData("threshold", "threshold")]
    [InlineData("blur_gaussian", "blur")]
    [InlineData("recolor_intensity", "intensity")]
    [InlineData("inpaint_only", "inpaint")]
    [InlineData("softedge_pidinet", "softedge")]
    [InlineData("CANNY", "canny")]
    public void Sd_webui_controlnet_module_names_resolve(string module, string expected) =>
        Assert.Equal(expected, PreprocessorRegistry.Find(module)?.Name);

    [Fact]
    public void Every_name_and_alias_belongs_to_one_module()
    {
        var names = PreprocessorRegistry.All.SelectMany(p => p.Aliases.Append(p.Name).Distinct(StringComparer.OrdinalIgnoreCase)
            .Select(n => (n: n.ToLowerInvariant(), p.Name))).ToList();
        var clashes = names.GroupBy(x => x.n).Where(g => g.Select(x => x.Name).Distinct().Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(clashes);
    }

    [Fact]
    public void Every_option_declares_a_valid_default_and_help()
    {
        foreach (var p in PreprocessorRegistry.All)
            foreach (var o in PreprocessorRegistry.OptionsOf(p))
            {
                Assert.False(string.IsNullOrWhiteSpace(o.Help), $"{p.Name}.{o.Name} has no help");
                if (o.Kind != OptionKind.Text) Assert.Null(o.Validate(o.Default));
            }
    }

    [Fact]
    public void An_unknown_module_is_named_with_the_known_ones()
    {
        var e = Assert.Throws<PreprocessorException>(() => PreprocessorRegistry.Run("nosuch", Draw.Flat(8, 8, 0, 0, 0)));
        Assert.Contains("nosuch", e.Message);
        Assert.Contains("canny", e.Message);
    }

    [Fact]
    public void An_option_out_of_range_names_the_module_the_option_and_the_input()
    {
        var e = Assert.Throws<PreprocessorException>(() =>
            PreprocessorRegistry.Run("canny", Draw.Flat(8, 8, 0, 0, 0), new Dictionary<string, string> { ["low_threshold"] = "999" }, "photo.png"));
        Assert.Contains("canny", e.Message);
        Assert.Contains("low_threshold", e.Message);
        Assert.Contains("photo.png", e.Message);
    }

    [Fact]
    public void Resolution_sets_the_short_side_the_module_works_at()
    {
        var result = PreprocessorRegistry.Run("invert", Draw.Flat(200, 100, 10, 20, 30), new Dictionary<string, string> { ["resolution"] = "50" });
        Assert.Equal((100, 50), (result.Image.Width, result.Image.Height));
        Assert.Equal((245, 235, 225), Draw.At(result.Image, 10, 10));
    }

    [Theory]
    [InlineData(1024, 768, 512, 512, false, 512)] // just resize / crop: the larger factor, 2/3 x 768
    [InlineData(1024, 768, 512, 512, true, 384)]  // resize and fill: the smaller factor, 1/2 x 768
    [InlineData(512, 512, 768, 512, false, 768)]
    public void Pixel_perfect_resolution_follows_the_resize_mode(int w, int h, int tw, int th, bool fill, int expected) =>
        Assert.Equal(expected, Geometry.PixelPerfectResolution(w, h, tw, th, fill));
}
