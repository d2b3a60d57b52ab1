using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests;

public class CannyTests
{
    [Fact]
    public void Edges_of_a_rectangle_lie_on_its_border()
    {
        var image = TestImages.Rectangle(64, 64, 16, 20, 48, 44, (220, 30, 30), (30, 70, 220));
        var edges = Canny.Run(image);
        int onBorder = 0, elsewhere = 0;
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 64; x++)
            {
                if (edges.Pixels[(y * 64 + x) * 3] == 0) continue;
                var nearVertical = (Math.Abs(x - 16) <= 1 || Math.Abs(x - 47) <= 1) && y >= 19 && y <= 44;
                var nearHorizontal = (Math.Abs(y - 20) <= 1 || Math.Abs(y - 43) <= 1) && x >= 15 && x <= 48;
                if (nearVertical || nearHorizontal) onBorder++; else elsewhere++;
            }
        Assert.Equal(0, elsewhere);
        Assert.True(onBorder > 2 * (32 + 24) - 8, $"only {onBorder} edge pixels on the border");
    }

    [Fact]
    public void Flat_image_has_no_edges_and_thresholds_are_checked()
    {
        var flat = TestImages.Rectangle(32, 32, 0, 0, 0, 0, (0, 0, 0), (90, 90, 90));
        Assert.All(Canny.Run(flat).Pixels, p => Assert.Equal(0, p));
        Assert.Throws<ArgumentException>(() => Canny.Run(flat, 200, 100));
    }
}

public class CannyAgreementTests
{
    /// <summary>Canny.Run picks each pixel's strongest channel itself; the edges must be OpenCV's colour Canny's, bit for bit.</summary>
    [Theory]
    [InlineData(100, 200)]
    [InlineData(20, 60)]
    [InlineData(150, 150)]
    public void The_edges_are_opencvs_colour_canny_exactly(int low, int high)
    {
        Abstractions.RgbImage[] images = [TestImages.Rectangle(97, 64, 10, 8, 60, 50, (220, 30, 30), (30, 200, 60)), EmbeddedModelFixture.Scene(2),
            Noisy(131, 77), Crossing(40), .. Enumerable.Range(0, 12).Select(Levels)];
        foreach (var image in images)
        {
            using var view = MatConversions.View(image);
            using var expected = new OpenCvSharp.Mat();
            OpenCvSharp.Cv2.Canny(view, expected, low, high);
            var ours = Canny.Run(image, low, high);
            Assert.Equal(MatConversions.ToRgb(expected).Pixels, ours.Pixels);
        }
    }

    /// <summary>Blocks of three levels per channel at random: equal gradients in different channels are common.</summary>
    private static Abstractions.RgbImage Levels(int seed)
    {
        var rng = new Random(seed);
        var px = new byte[32 * 32 * 3];
        for (var by = 0; by < 32; by += 4)
            for (var bx = 0; bx < 32; bx += 4)
                for (var c = 0; c < 3; c++)
                {
                    var v = (byte)(100 * rng.Next(3));
                    for (var y = by; y < by + 4; y++)
                        for (var x = bx; x < bx + 4; x++) px[(y * 32 + x) * 3 + c] = v;
                }
        return new Abstractions.RgbImage(32, 32, px);
    }

    /// <summary>Red steps along x, green along y at the same place: on the diagonal both channels are equally strong
    /// with different directions, so the tie rule (the first channel) decides which edges survive.</summary>
    private static Abstractions.RgbImage Crossing(int size)
    {
        var px = new byte[size * size * 3];
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                px[(y * size + x) * 3] = (byte)(x >= size / 2 ? 200 : 0);
                px[(y * size + x) * 3 + 1] = (byte)(y >= size / 2 ? 200 : 0);
            }
        return new Abstractions.RgbImage(size, size, px);
    }

    /// <summary>Shapes in three colours with noise: every channel wins somewhere, ties happen on flat patches.</summary>
    private static Abstractions.RgbImage Noisy(int width, int height)
    {
        var rng = new Random(5);
        var px = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var i = (y * width + x) * 3;
                px[i] = (byte)(x < width / 2 ? 200 : 40 + rng.Next(30));
                px[i + 1] = (byte)(y < height / 3 ? 180 : rng.Next(256) / 4);
                px[i + 2] = (byte)((x + y) % 40 < 20 ? 220 : 10);
            }
        return new Abstractions.RgbImage(width, height, px);
    }
}
