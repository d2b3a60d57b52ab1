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
