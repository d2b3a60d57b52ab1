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
