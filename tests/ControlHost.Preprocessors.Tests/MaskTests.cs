namespace ControlHost.Preprocessors.Tests;

public class MaskTests
{
    [Fact]
    public void A_box_mask_is_white_exactly_inside_the_box()
    {
        var mask = Masks.Box(50, 40, 10, 5, 20, 15);
        Assert.Equal(20 * 15, Draw.CountWhite(mask));
        Assert.Equal(255, Draw.At(mask, 10, 5).R);
        Assert.Equal(255, Draw.At(mask, 29, 19).R);
        Assert.Equal(0, Draw.At(mask, 30, 19).R);
    }

    [Fact]
    public void A_box_outside_the_image_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => Masks.Box(50, 40, 60, 5, 20, 15));
        Assert.Contains("outside", e.Message);
    }

    [Fact]
    public void A_polygon_mask_covers_its_area()
    {
        var mask = Masks.Polygon(100, 100, Masks.ParsePoints("10,10 90,10 10,90"));
        Assert.InRange(Draw.CountWhite(mask), 3100, 3450); // 80 x 80 / 2 = 3200, plus the drawn border
        Assert.Throws<ArgumentException>(() => Masks.ParsePoints("10,10 x,3"));
        Assert.Throws<ArgumentException>(() => Masks.Polygon(10, 10, Masks.ParsePoints("1,1 2,2")));
    }

    [Fact]
    public void Grow_shrink_feather_and_invert()
    {
        var box = Masks.Box(60, 60, 20, 20, 20, 20);
        Assert.True(Draw.CountWhite(Masks.Adjust(box, 3, 0, false)) > 400);
        Assert.True(Draw.CountWhite(Masks.Adjust(box, -3, 0, false)) < 400);
        Assert.Equal(3600 - 400, Draw.CountWhite(Masks.Adjust(box, 0, 0, true)));
        var feathered = Masks.Adjust(box, 0, 3, false);
        Assert.Contains(feathered.Pixels, v => v is > 30 and < 220);
    }

    [Fact]
    public void Painted_masks_pick_the_paint_colour()
    {
        var painted = Draw.Rectangle(30, 30, 5, 5, 14, 14, (250, 250, 250), (90, 60, 30));
        Assert.Equal(100, Draw.CountWhite(Masks.Painted(painted, 255, 255, 255, 20)));
    }

    [Fact]
    public void Alpha_masks_mark_transparent_pixels()
    {
        var alpha = new byte[] { 0, 255, 100, 200 };
        var mask = Masks.FromAlpha(alpha, 2, 2);
        Assert.Equal([255, 0, 255, 0], Enumerable.Range(0, 4).Select(i => (int)mask.Pixels[3 * i]));
    }

    [Fact]
    public void The_composer_form_is_masked_rgb_plus_the_binary_mask()
    {
        var image = Draw.Flat(4, 2, 255, 0, 51);
        var mask = Masks.Box(4, 2, 0, 0, 2, 2);
        var tensor = Masks.ComposerForm(image, mask);
        Assert.Equal([1, 4, 2, 4], tensor.Shape);
        var plane = 8;
        Assert.Equal(0f, tensor.Data[0]);                // red, masked pixel: blacked out
        Assert.Equal(1f, tensor.Data[2]);                // red, kept pixel
        Assert.Equal(0.2f, tensor.Data[2 * plane + 2], 5); // blue 51/255
        Assert.Equal(1f, tensor.Data[3 * plane + 0]);    // mask: generate
        Assert.Equal(0f, tensor.Data[3 * plane + 3]);    // mask: keep
    }
}
