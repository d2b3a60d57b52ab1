using OpenCvSharp;

namespace ControlHost.Preprocessors.Tests;

/// <summary>Hough lines and LSD find the four sides of a drawn rectangle.</summary>
public class LineTests
{
    private static readonly ControlHost.Abstractions.RgbImage Box =
        Draw.Rectangle(160, 120, 30, 20, 129, 99, (240, 240, 240), (20, 20, 20));

    /// <summary>Which of the four sides (left, right, top, bottom) a set of white pixels covers along most of its length.</summary>
    private static bool[] SidesCovered(ControlHost.Abstractions.RgbImage map)
    {
        bool Near(int x, int y)
        {
            for (var dy = -2; dy <= 2; dy++)
                for (var dx = -2; dx <= 2; dx++)
                {
                    int nx = x + dx, ny = y + dy;
                    if (nx >= 0 && ny >= 0 && nx < map.Width && ny < map.Height && Draw.At(map, nx, ny).R > 128) return true;
                }
            return false;
        }
        double Vertical(int x) => Enumerable.Range(25, 70).Count(y => Near(x, y)) / 70.0;
        double Horizontal(int y) => Enumerable.Range(35, 90).Count(x => Near(x, y)) / 90.0;
        return [Vertical(30) > 0.8, Vertical(129) > 0.8, Horizontal(20) > 0.8, Horizontal(99) > 0.8];
    }

    [Fact]
    public void Hough_lines_find_the_four_sides() => Assert.All(SidesCovered(HoughLines.Run(Box)), Assert.True);

    [Fact]
    public void Lsd_finds_the_four_sides_as_segments()
    {
        var segments = LineSegments.Detect(Box);
        Assert.All(SidesCovered(LineSegments.Run(Box)), Assert.True);
        // every segment found lies along one of the sides: horizontal or vertical, near an edge
        foreach (var s in segments)
        {
            var vertical = Math.Abs(s.Item0 - s.Item2) < 2;
            var horizontal = Math.Abs(s.Item1 - s.Item3) < 2;
            Assert.True(vertical || horizontal, $"segment {s} is neither vertical nor horizontal");
        }
    }

    [Fact]
    public void A_flat_image_has_no_lines()
    {
        Assert.Equal(0, Draw.CountWhite(HoughLines.Run(Draw.Flat(64, 64, 90, 90, 90))));
        Assert.Empty(LineSegments.Detect(Draw.Flat(64, 64, 90, 90, 90)));
    }

    [Fact]
    public void Soft_edges_are_bright_on_the_border_and_dark_inside_and_outside()
    {
        var map = SoftEdge.Run(Box);
        Assert.True(Draw.At(map, 30, 60).R > 200, "the left side is an edge");
        Assert.True(Draw.At(map, 80, 60).R < 10, "the inside is flat");
        Assert.True(Draw.At(map, 5, 5).R < 10, "the outside is flat");
        // graded, not binary: some values between
        Assert.Contains(map.Pixels, v => v is > 20 and < 200);
    }

    [Fact]
    public void Standard_lineart_makes_dark_lines_on_white_bright_on_black()
    {
        // A black rectangle outline drawn on white (a line drawing): 2-pixel dark lines.
        var pixels = Enumerable.Repeat((byte)250, 160 * 120 * 3).ToArray();
        void Dot(int x, int y) { for (var c = 0; c < 3; c++) pixels[(y * 160 + x) * 3 + c] = 10; }
        for (var x = 30; x <= 129; x++) { Dot(x, 20); Dot(x, 21); Dot(x, 99); Dot(x, 98); }
        for (var y = 20; y <= 99; y++) { Dot(30, y); Dot(31, y); Dot(129, y); Dot(128, y); }
        var map = StandardLineart.Run(new ControlHost.Abstractions.RgbImage(160, 120, pixels));
        // A typical line comes out half-bright (127): the median dark pixel sets the scale.
        foreach (var (x, y) in new[] { (80, 20), (80, 99), (30, 60), (129, 60) }) Assert.InRange(Draw.At(map, x, y).R, 110, 140);
        Assert.Equal(0, Draw.At(map, 80, 60).R); // the white inside stays black
        Assert.Equal(0, Draw.At(map, 5, 5).R);
        // A flat image has no lines at all.
        Assert.Equal(0, Draw.CountWhite(StandardLineart.Run(Draw.Flat(64, 64, 200, 200, 200)), 1));
    }
}
