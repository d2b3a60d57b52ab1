using ControlHost.Abstractions;
using ControlHost.Application.Inpainting;
using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests.Service;

/// <summary>The one crop transform of inpainting and placement: geometry, round trip, and agreement with hints.</summary>
public class CropTransformTests
{
    /// <summary>White 3x3 dots on black every <paramref name="step"/> pixels; returns the image and the dot centres.</summary>
    private static (RgbImage Image, List<(double X, double Y)> Centres) DotGrid(int width, int height, int step)
    {
        var px = new byte[width * height * 3];
        var centres = new List<(double, double)>();
        for (var cy = step / 2; cy + 1 < height; cy += step)
            for (var cx = step / 2; cx + 1 < width; cx += step)
            {
                for (var y = cy - 1; y <= cy + 1; y++)
                    for (var x = cx - 1; x <= cx + 1; x++)
                        px[(y * width + x) * 3] = px[(y * width + x) * 3 + 1] = px[(y * width + x) * 3 + 2] = 255;
                centres.Add((cx + 0.5, cy + 0.5)); // the centre of pixel cx in [i, i+1) coordinates
            }
        return (new RgbImage(width, height, px), centres);
    }

    /// <summary>The brightness-weighted centroid of the blob around a point (within radius r).</summary>
    private static (double X, double Y)? Centroid(RgbImage image, double x, double y, int r)
    {
        double sum = 0, sx = 0, sy = 0;
        for (var j = (int)y - r; j <= (int)y + r; j++)
            for (var i = (int)x - r; i <= (int)x + r; i++)
            {
                if (i < 0 || j < 0 || i >= image.Width || j >= image.Height) return null;
                double v = image.Pixels[(j * image.Width + i) * 3];
                sum += v;
                sx += v * (i + 0.5);
                sy += v * (j + 0.5);
            }
        return sum < 1 ? null : (sx / sum, sy / sum);
    }

    // The issue asks for 0.5 px; the transform measures under 0.06 px here, and a half-pixel slip in the pixel-centre
    // convention (0.3 px at these scales) must fail, so the bound is tighter than the promise.
    private const double Tolerance = 0.12;

    [Theory]
    [InlineData(37, 29, 50, 41, 8)]    // a small box: scaled up to the canvas
    [InlineData(10, 20, 230, 150, 0)]  // a big box: scaled down
    [InlineData(0, 0, 40, 40, 16)]     // touching the corner: the crop stays inside the image
    public void Dots_come_back_within_half_a_pixel_through_the_canvas_and_the_paste(int x, int y, int w, int h, int padding)
    {
        var (image, centres) = DotGrid(256, 192, 16);
        var t = CropTransform.AroundBox(new PixelBox(x, y, w, h), padding, 256, 192, 128, 128);
        Assert.Equal(128 / t.Region.Width, t.Scale, 9);
        Assert.Equal(128 / t.Region.Height, t.Scale, 9); // the working aspect exactly: no stretch
        var canvas = t.Apply(image);
        var back = t.PasteBack(new RgbImage(256, 192, new byte[image.Pixels.Length]), canvas, Enumerable.Repeat((byte)255, 256 * 192).ToArray());
        var checkedDots = 0;
        foreach (var (cx, cy) in centres)
        {
            var (wx, wy) = t.ToWorking(cx, cy);
            if (wx < 6 || wy < 6 || wx > 122 || wy > 122) continue;
            var found = Centroid(canvas, wx, wy, Math.Max(3, (int)Math.Ceiling(2.5 * t.Scale)));
            Assert.NotNull(found);
            var (sx, sy) = t.ToSource(found.Value.X, found.Value.Y);
            Assert.True(Math.Abs(sx - cx) <= Tolerance && Math.Abs(sy - cy) <= Tolerance, $"dot ({cx},{cy}) came back at ({sx:0.00},{sy:0.00}), scale {t.Scale:0.00}");
            var pasted = Centroid(back, cx, cy, 3);
            Assert.NotNull(pasted);
            Assert.True(Math.Abs(pasted.Value.X - cx) <= Tolerance && Math.Abs(pasted.Value.Y - cy) <= Tolerance, $"pasted dot ({cx},{cy}) at {pasted}");
            checkedDots++;
        }
        Assert.True(checkedDots >= 4, $"only {checkedDots} dots on the canvas");
    }

    [Fact]
    public void The_canny_map_of_the_crop_agrees_with_the_crop_of_the_canny_map()
    {
        // A scene of crisp shapes, cropped around a box at scale 1 and at a fractional offset, and at 2x.
        var scene = ControlHost.Engine.Imaging.ImageIo.Fit(EmbeddedModelFixture.Scene(1), 256, 256, ControlHost.Engine.Imaging.ResizeMode.JustResize);
        var measured = new List<(double Scale, double IoU)>();
        foreach (var (box, padding) in new[] { (new PixelBox(70, 50, 100, 100), 14), (new PixelBox(33, 41, 64, 64), 0), (new PixelBox(101, 87, 40, 50), 3) })
        {
            var t = CropTransform.AroundBox(box, padding, 256, 256, 128, 128);
            var ofCrop = Canny.Run(t.Apply(scene));
            var cropOf = t.ApplyHint(Canny.Run(scene));
            // Within one canvas pixel (Canny itself moves an edge by that much between resolutions); measured 1.000.
            measured.Add((t.Scale, EdgeIoU(ofCrop, cropOf, tolerance: 1)));
        }
        Assert.True(measured.All(m => m.IoU >= 0.95), string.Join("; ", measured.Select(m => $"scale {m.Scale:0.00}: IoU {m.IoU:0.000}")));
    }

    /// <summary>IoU of two edge maps where an edge pixel counts as matched within the tolerance (in pixels).</summary>
    private static double EdgeIoU(RgbImage a, RgbImage b, int tolerance)
    {
        bool On(RgbImage m, int x, int y) => m.Pixels[(y * m.Width + x) * 3] >= 128;
        bool Near(RgbImage m, int x, int y)
        {
            for (var j = Math.Max(0, y - tolerance); j <= Math.Min(m.Height - 1, y + tolerance); j++)
                for (var i = Math.Max(0, x - tolerance); i <= Math.Min(m.Width - 1, x + tolerance); i++)
                    if (On(m, i, j)) return true;
            return false;
        }
        int matched = 0, union = 0;
        for (var y = 0; y < a.Height; y++)
            for (var x = 0; x < a.Width; x++)
            {
                bool ea = On(a, x, y), eb = On(b, x, y);
                if (!ea && !eb) continue;
                union++;
                if ((ea && Near(b, x, y)) || (eb && Near(a, x, y))) matched++;
            }
        return union == 0 ? 1 : (double)matched / union;
    }

    [Fact]
    public void The_whole_image_on_a_same_size_canvas_is_the_identity_and_pastes_the_engine_blend()
    {
        var t = CropTransform.Whole(128, 128, 128, 128);
        Assert.True(t.IsIdentity);
        var source = EmbeddedModelFixture.Scene(0);
        var canvas = EmbeddedModelFixture.Scene(3);
        var mask = Enumerable.Range(0, 128 * 128).Select(i => (byte)(i % 128 * 2)).ToArray();
        var pasted = t.PasteBack(source, canvas, mask);
        for (var i = 0; i < mask.Length; i++)
            for (var c = 0; c < 3; c++)
            {
                var k = 3 * i + c;
                var expected = mask[i] switch
                {
                    0 => source.Pixels[k],
                    255 => canvas.Pixels[k],
                    var a => (byte)((canvas.Pixels[k] * a + source.Pixels[k] * (255 - a) + 127) / 255),
                };
                Assert.Equal(expected, pasted.Pixels[k]);
            }
    }

    [Fact]
    public void A_box_bigger_than_the_image_in_one_direction_is_centred_and_the_rest_of_the_canvas_is_empty_for_hints()
    {
        var t = CropTransform.AroundBox(new PixelBox(0, 10, 200, 20), 0, 200, 40, 128, 128);
        // The crop is 200 wide, so 200 tall: it reaches past the 40-pixel-high image on both sides, centred.
        Assert.Equal(-80, t.OriginY, 6);
        var white = new RgbImage(200, 40, Enumerable.Repeat((byte)255, 200 * 40 * 3).ToArray());
        var hint = t.ApplyHint(white);
        Assert.Equal(0, hint.Pixels[(5 * 128 + 64) * 3]);     // above the image: empty
        Assert.Equal(255, hint.Pixels[(64 * 128 + 64) * 3]);  // the image itself
    }
}
