using ControlHost.Abstractions;
using ControlHost.Preprocessors;
using Xunit;

namespace ControlHost.Preprocessors.Tests;

/// <summary>The one resize of control maps keeps what makes them maps (sd-webui-controlnet's rules).</summary>
public sealed class HintResizeTests
{
    /// <summary>A segmentation map: four class colours in stripes with diagonal edges.</summary>
    private static RgbImage Classes(int width, int height)
    {
        (byte, byte, byte)[] palette = [(120, 120, 120), (180, 120, 120), (6, 230, 230), (80, 50, 50)];
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = palette[((x + y) / 7) % palette.Length];
                (pixels[(y * width + x) * 3], pixels[(y * width + x) * 3 + 1], pixels[(y * width + x) * 3 + 2]) = (r, g, b);
            }
        return new RgbImage(width, height, pixels);
    }

    private static HashSet<int> Colours(RgbImage image)
    {
        var set = new HashSet<int>();
        for (var i = 0; i < image.Pixels.Length; i += 3) set.Add(image.Pixels[i] << 16 | image.Pixels[i + 1] << 8 | image.Pixels[i + 2]);
        return set;
    }

    [Fact]
    public void A_segmentation_map_keeps_its_classes_when_enlarged_and_shrunk()
    {
        var map = Classes(50, 30);
        foreach (var (w, h) in new[] { (137, 83), (20, 13) })
        {
            var resized = HintResize.Resize(map, w, h);
            Assert.Equal((w, h), (resized.Width, resized.Height));
            Assert.Subset(Colours(map), Colours(resized));
        }
    }

    [Fact]
    public void An_edge_map_stays_black_and_white()
    {
        var edges = Draw.Rectangle(40, 40, 10, 10, 30, 30, (255, 255, 255), (0, 0, 0));
        foreach (var (w, h) in new[] { (97, 97), (17, 23) })
        {
            var resized = HintResize.Resize(edges, w, h);
            Assert.All(resized.Pixels, v => Assert.True(v is 0 or 255, $"value {v} in a black-and-white map"));
            Assert.True(Draw.CountWhite(resized) > 0);
        }
    }

    [Fact]
    public void A_picture_is_resized_as_a_picture()
    {
        var photo = Draw.Noise(64, 48, 3);
        Assert.Equal(Geometry.Resize(photo, 100, 75).Pixels, HintResize.Resize(photo, 100, 75).Pixels);
        Assert.Equal(Geometry.Resize(photo, 20, 15).Pixels, HintResize.Resize(photo, 20, 15).Pixels);
    }

    [Fact]
    public void Resize_and_fill_pads_with_the_median_border_colour()
    {
        // A wide picture whose border is mostly teal (a red square touches the top edge at one spot).
        var image = Draw.Rectangle(80, 40, 30, 0, 34, 4, (250, 0, 0), (20, 140, 150));
        var fitted = HintResize.Fit(Noisy(image), 64, 64, HintFit.Contain);
        Assert.Equal((20, 140, 150), ToInts(Draw.At(fitted, 32, 2)));
        Assert.Equal((20, 140, 150), ToInts(Draw.At(fitted, 32, 61)));
    }

    [Fact]
    public void Crop_and_resize_keeps_the_centre()
    {
        // A wide image: green sides and a blue middle third; covering a square keeps the blue middle.
        var image = Noisy(Draw.Rectangle(90, 30, 30, 0, 60, 30, (0, 0, 255), (0, 200, 0)));
        var fitted = HintResize.Fit(image, 30, 30, HintFit.Cover);
        Assert.Equal((30, 30), (fitted.Width, fitted.Height));
        Assert.Equal((0, 0, 255), ToInts(Draw.At(fitted, 15, 15)));
        Assert.Equal((0, 0, 255), ToInts(Draw.At(fitted, 2, 15)));
        var stretched = HintResize.Fit(image, 30, 30, HintFit.Stretch);
        Assert.Equal((0, 200, 0), ToInts(Draw.At(stretched, 2, 15)));
    }

    private static (int, int, int) ToInts((byte R, byte G, byte B) c) => (c.R, c.G, c.B);

    /// <summary>The image with a third colour in one corner pixel, so it is a map of a few colours (resized with nearest
    /// neighbours, so the colours asserted are exact).</summary>
    private static RgbImage Noisy(RgbImage image)
    {
        var pixels = (byte[])image.Pixels.Clone();
        pixels[^1] = 7;
        return new RgbImage(image.Width, image.Height, pixels);
    }
}
