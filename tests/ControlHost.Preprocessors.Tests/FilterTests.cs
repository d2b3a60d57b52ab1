namespace ControlHost.Preprocessors.Tests;

public class FilterTests
{
    [Fact]
    public void Invert_subtracts_every_channel_from_255()
    {
        var result = Invert.Run(Draw.Flat(3, 2, 0, 100, 255));
        Assert.All(Enumerable.Range(0, 6), i => Assert.Equal((255, 155, 0), Draw.At(result, i % 3, i / 3)));
    }

    [Fact]
    public void Threshold_splits_at_the_given_grey()
    {
        var image = Draw.Rectangle(20, 20, 0, 0, 9, 19, (200, 200, 200), (100, 100, 100));
        var result = Threshold.Run(image, 150);
        Assert.Equal((255, 255, 255), Draw.At(result, 5, 5));
        Assert.Equal((0, 0, 0), Draw.At(result, 15, 5));
    }

    [Fact]
    public void Blur_keeps_flat_regions_and_softens_an_edge()
    {
        var image = Draw.Rectangle(40, 40, 0, 0, 19, 39, (255, 255, 255), (0, 0, 0));
        var result = Blur.Run(image, 3);
        Assert.Equal(255, Draw.At(result, 2, 20).R);
        Assert.Equal(0, Draw.At(result, 37, 20).R);
        Assert.InRange(Draw.At(result, 20, 20).R, 60, 200);
    }

    [Fact]
    public void Colour_grid_holds_each_cells_mean_colour()
    {
        // left half red, right half blue, 128 wide: cells of 64 are each one colour; cells of 128 are the mean
        var image = Draw.Rectangle(128, 64, 0, 0, 63, 63, (255, 0, 0), (0, 0, 255));
        var grid = ColourGrid.Run(image, 64);
        Assert.Equal((255, 0, 0), Draw.At(grid, 10, 10));
        Assert.Equal((0, 0, 255), Draw.At(grid, 100, 10));
        var coarse = ColourGrid.Run(image, 128);
        var (r, g, b) = Draw.At(coarse, 10, 10);
        Assert.InRange(r, 126, 129);
        Assert.Equal(0, g);
        Assert.InRange(b, 126, 129);
        Assert.Equal(Draw.At(coarse, 10, 10), Draw.At(coarse, 120, 60));
    }

    [Fact]
    public void Tile_resample_shrinks_by_the_rate()
    {
        var result = TileResample.Run(Draw.Noise(120, 80, 1), 4);
        Assert.Equal((30, 20), (result.Width, result.Height));
    }

    [Fact]
    public void Shuffle_is_seeded_moves_the_layout_and_keeps_the_colours()
    {
        var image = Draw.Rectangle(96, 96, 0, 0, 47, 95, (230, 40, 40), (40, 40, 230));
        var a = Shuffle.Run(image, seed: 7);
        Assert.Equal(a.Pixels, Shuffle.Run(image, seed: 7).Pixels);
        Assert.NotEqual(a.Pixels, Shuffle.Run(image, seed: 8).Pixels);
        Assert.NotEqual(image.Pixels, a.Pixels);
        // colours survive: the shuffled image's colour histogram stays close to the original's
        var distance = ColourHistogram.Distance(ColourHistogram.Compute(image), ColourHistogram.Compute(a));
        Assert.True(distance < 0.5, $"histogram distance {distance}");
    }

    [Fact]
    public void Intensity_uses_the_given_channel_weights()
    {
        var image = Draw.Flat(2, 2, 200, 100, 50);
        Assert.Equal(200, Draw.At(Intensity.Run(image, 1, 0, 0), 0, 0).R);
        Assert.Equal(50, Draw.At(Intensity.Run(image, 0, 0, 1), 1, 1).G);
    }

    [Fact]
    public void A_ready_depth_map_is_stretched_to_the_full_range_and_can_be_inverted()
    {
        var map = Draw.Rectangle(20, 20, 0, 0, 9, 19, (150, 150, 150), (50, 50, 50));
        var result = Depth.Normalise(map);
        Assert.Equal(255, Draw.At(result, 2, 2).R);
        Assert.Equal(0, Draw.At(result, 15, 2).R);
        Assert.Equal(0, Draw.At(Depth.Normalise(map, invert: true), 2, 2).R);
    }

    [Fact]
    public void A_normal_map_from_depth_leans_against_the_slope_and_faces_the_camera_on_the_background()
    {
        // A ramp growing brighter (nearer) to the right on the right half; the left half is far (background).
        var pixels = new byte[64 * 32 * 3];
        for (var y = 0; y < 32; y++)
            for (var x = 0; x < 64; x++)
            {
                var v = (byte)(x < 32 ? 0 : 100 + (x - 32) * 4);
                for (var c = 0; c < 3; c++) pixels[(y * 64 + x) * 3 + c] = v;
            }
        var normal = NormalFromDepth.Run(new ControlHost.Abstractions.RgbImage(64, 32, pixels));
        var flat = Draw.At(normal, 10, 16);
        Assert.Equal((128, 128, 255), (flat.R, flat.G, flat.B)); // background: straight at the camera
        var slope = Draw.At(normal, 48, 16);
        Assert.True(slope.R > 150 && slope.G == 128 && slope.B < 250, slope.ToString()); // x leans with the rising depth
    }
}
