using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Sources;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Application.Inpainting;

/// <summary>
/// The inpainting mask in init-image pixels (0 keep .. 255 generate) from an <see cref="InpaintSpec"/>: drawn from a
/// box or polygon or read from an image, inverted, blurred, feathered. Bad regions are refused with the field named.
/// </summary>
public static class MaskBuilder
{
    /// <exception cref="BadInputException">No region, more than one, a region outside the image, a mask image of
    /// another size, or a mask that leaves nothing to generate.</exception>
    public static byte[] Build(InpaintSpec spec, int width, int height, PathPolicy paths, ImageBudget? budget = null)
    {
        var given = (spec.MaskImage is null ? 0 : 1) + (spec.Box is null ? 0 : 1) + (spec.Polygon is null ? 0 : 1);
        if (given != 1)
            throw new BadInputException("mask", given == 0
                ? "inpainting needs a region: a mask image, a box or a polygon"
                : "give one inpainting region: a mask image, a box or a polygon, not several");
        byte[] mask;
        if (spec.Box is { } box) mask = FromBox(box, width, height, "mask");
        else if (spec.Polygon is { } polygon) mask = FromPolygon(polygon, width, height);
        else mask = FromImage(spec.MaskImage!.Load(paths, "mask", budget), width, height);
        if (spec.Invert)
            for (var i = 0; i < mask.Length; i++) mask[i] = (byte)(255 - mask[i]);
        var blur = spec.MaskBlur ?? InpaintSpec.DefaultMaskBlur;
        if (!double.IsFinite(blur) || blur is < 0 or > 256) throw new BadInputException("mask_blur", $"mask blur {blur}: must be 0..256 pixels");
        if (spec.Feather is < 0 or > 256) throw new BadInputException("feather", $"feather {spec.Feather}: must be 0..256 pixels");
        if (spec.Feather > 0) mask = Feather(mask, width, height, spec.Feather);
        if (blur > 0) mask = Blur(mask, width, height, blur);
        if (!mask.Any(v => v > 0))
            throw new BadInputException("mask", spec.Invert
                ? "the inverted mask is empty: the mask covers the whole image, so there is nothing to generate"
                : "the mask is empty: nothing to generate (white marks the region to generate)");
        return mask;
    }

    /// <summary>255 inside the box. It must lie inside the image (touching the border is fine).</summary>
    public static byte[] FromBox(PixelBox box, int width, int height, string field)
    {
        if (box.Width <= 0 || box.Height <= 0)
            throw new BadInputException(field, $"box {box}: width and height must be at least 1 pixel");
        if (box.X < 0 || box.Y < 0 || box.Right > width || box.Bottom > height)
            throw new BadInputException(field, $"box {box} reaches outside the {width}x{height} image: x and y from 0, x+w up to {width}, y+h up to {height}");
        var mask = new byte[width * height];
        for (var y = box.Y; y < box.Bottom; y++) Array.Fill(mask, (byte)255, y * width + box.X, box.Width);
        return mask;
    }

    private static byte[] FromPolygon(IReadOnlyList<(double X, double Y)> points, int width, int height)
    {
        if (points.Count < 3) throw new BadInputException("mask", $"a polygon needs at least 3 points, got {points.Count}");
        if (points.Any(p => !double.IsFinite(p.X) || !double.IsFinite(p.Y)))
            throw new BadInputException("mask", "polygon points must be finite numbers");
        using var mat = new Mat(height, width, MatType.CV_8UC1, Scalar.All(0));
        Cv2.FillPoly(mat, [points.Select(p => new Point((int)Math.Round(p.X), (int)Math.Round(p.Y))).ToArray()], Scalar.All(255));
        var mask = new byte[width * height];
        System.Runtime.InteropServices.Marshal.Copy(mat.Data, mask, 0, mask.Length);
        return mask;
    }

    private static byte[] FromImage(RgbImage image, int width, int height)
    {
        if (image.Width != width || image.Height != height)
            throw new BadInputException("mask", $"the mask is {image.Width}x{image.Height} but the init image is {width}x{height}: give a mask of the image's size");
        // The brightest channel: white, or any colour painted at full strength, marks the region.
        var mask = new byte[width * height];
        for (var i = 0; i < mask.Length; i++)
            mask[i] = Math.Max(image.Pixels[3 * i], Math.Max(image.Pixels[3 * i + 1], image.Pixels[3 * i + 2]));
        return mask;
    }

    /// <summary>A linear ramp outside the mask: 255 at the region's edge down to 0 at <paramref name="band"/> pixels
    /// from it (distance to the nearest generated pixel); the region itself is unchanged.</summary>
    private static byte[] Feather(byte[] mask, int width, int height, int band)
    {
        using var outside = new Mat(height, width, MatType.CV_8UC1);
        var inverted = mask.Select(v => v > 0 ? (byte)0 : (byte)255).ToArray();
        System.Runtime.InteropServices.Marshal.Copy(inverted, 0, outside.Data, inverted.Length);
        using var distance = new Mat();
        Cv2.DistanceTransform(outside, distance, DistanceTypes.L2, DistanceTransformMasks.Precise);
        var d = new float[width * height];
        System.Runtime.InteropServices.Marshal.Copy(distance.Data, d, 0, d.Length);
        var result = (byte[])mask.Clone();
        for (var i = 0; i < result.Length; i++)
            if (mask[i] == 0 && d[i] < band) result[i] = (byte)Math.Round(255 * (1 - d[i] / band));
        return result;
    }

    private static byte[] Blur(byte[] mask, int width, int height, double sigma)
    {
        using var src = new Mat(height, width, MatType.CV_8UC1);
        System.Runtime.InteropServices.Marshal.Copy(mask, 0, src.Data, mask.Length);
        using var dst = new Mat();
        Cv2.GaussianBlur(src, dst, new Size(0, 0), sigma, sigma, BorderTypes.Replicate);
        var result = new byte[mask.Length];
        System.Runtime.InteropServices.Marshal.Copy(dst.Data, result, 0, result.Length);
        return result;
    }

    /// <summary>The smallest box holding every pixel above 0.</summary>
    public static PixelBox Bounds(byte[] mask, int width, int height)
    {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                if (mask[y * width + x] > 0)
                {
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                }
        return x1 < 0 ? new PixelBox(0, 0, 0, 0) : new PixelBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }
}
