namespace ControlHost.Preprocessors.Tests;

public class ColourPaletteTests
{
    [Fact]
    public void A_one_colour_palette_equals_the_histogram_of_a_flat_image_of_it()
    {
        var fromPalette = ColourPalette.Histogram(ColourPalette.Parse("#2040e0"));
        var fromImage = ColourHistogram.Compute(Draw.Flat(16, 16, 0x20, 0x40, 0xe0));
        Assert.Equal(fromImage, fromPalette);
    }

    [Fact]
    public void Weights_split_like_image_areas()
    {
        var fromPalette = ColourPalette.Histogram(ColourPalette.Parse("#ff0000:3, #0000ff:1"));
        var image = Draw.Rectangle(40, 10, 0, 0, 29, 9, (255, 0, 0), (0, 0, 255));
        Assert.True(ColourHistogram.Distance(fromPalette, ColourHistogram.Compute(image)) < 1e-5);
    }

    [Theory]
    [InlineData("")]
    [InlineData("red")]
    [InlineData("#ff0000:-1")]
    [InlineData("#ff0000:0")]
    public void Bad_palettes_are_refused_with_the_entry(string text) =>
        Assert.Throws<ArgumentException>(() => ColourPalette.Histogram(ColourPalette.Parse(text)));
}

public class ColourSubsamplingTests
{
    [Fact]
    public void Large_images_are_read_at_rayleighs_strides_and_small_ones_whole()
    {
        Assert.Equal((1, 1), ColourHistogram.SampleStrides(240, 240));
        Assert.Equal((3, 2), ColourHistogram.SampleStrides(300, 512));
        var image = Draw.Noise(300, 512, 3);
        // the strided pixels, copied out, histogrammed whole, give the same vector
        var (sy, sx) = ColourHistogram.SampleStrides(300, 512);
        int w = (300 + sx - 1) / sx, h = (512 + sy - 1) / sy;
        var px = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                Array.Copy(image.Pixels, ((y * sy) * 300 + x * sx) * 3, px, (y * w + x) * 3, 3);
        Assert.Equal(ColourHistogram.Compute(new ControlHost.Abstractions.RgbImage(w, h, px), subsample: false), ColourHistogram.Compute(image));
        var small = Draw.Noise(200, 100, 4);
        Assert.Equal(ColourHistogram.Compute(small, subsample: false), ColourHistogram.Compute(small));
    }
}
