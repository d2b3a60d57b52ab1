using ControlHost.Abstractions;
using ControlHost.Application.Inpainting;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Application.Placement;

/// <summary>
/// Fits a generated box to its background after generation. Both modes change only pixels the placement mask
/// covers (the box and its feather band): outside it the background's bytes are kept.
/// </summary>
public static class Harmonizer
{
    /// <summary>Width of the rings the Reinhard transfer measures, in pixels.</summary>
    public const int RingWidth = 6;

    /// <param name="background">The image before this box.</param>
    /// <param name="generated">The same image with the box generated (already pasted through the mask).</param>
    /// <param name="mask">The placement mask in background pixels (0 keep .. 255 generate).</param>
    public static RgbImage Apply(Harmonization mode, RgbImage background, RgbImage generated, byte[] mask, PixelBox box) => mode switch
    {
        Harmonization.Reinhard => Reinhard(background, generated, mask, box),
        Harmonization.Poisson => Poisson(background, generated, mask),
        _ => generated,
    };

    /// <summary>
    /// Reinhard et al.'s statistics transfer in CIELab: the mean and spread of the ring just inside the box (what the
    /// model made of the surroundings) are mapped onto those of the background's ring just outside the mask, and the
    /// same per-channel affine map is applied to the whole masked region, weighted by the mask.
    /// </summary>
    private static RgbImage Reinhard(RgbImage background, RgbImage generated, byte[] mask, PixelBox box)
    {
        int width = background.Width, height = background.Height;
        using var labGenerated = Lab(generated);
        using var labBackground = Lab(background);
        var inner = new List<int>();
        var outer = new List<int>();
        var (feather, _) = Extent(mask, width, height, box);
        for (var y = Math.Max(0, box.Y - feather - RingWidth); y < Math.Min(height, box.Bottom + feather + RingWidth); y++)
            for (var x = Math.Max(0, box.X - feather - RingWidth); x < Math.Min(width, box.Right + feather + RingWidth); x++)
            {
                var i = y * width + x;
                var insideBox = x >= box.X && x < box.Right && y >= box.Y && y < box.Bottom;
                var depth = Math.Min(Math.Min(x - box.X, box.Right - 1 - x), Math.Min(y - box.Y, box.Bottom - 1 - y));
                if (insideBox && depth < RingWidth) inner.Add(i);
                else if (!insideBox && mask[i] == 0) outer.Add(i);
            }
        if (inner.Count == 0 || outer.Count == 0) return generated;
        var (meanIn, sdIn) = Stats(labGenerated, inner);
        var (meanOut, sdOut) = Stats(labBackground, outer);
        var ratio = new double[3];
        // A flat ring has no spread to match: the ratio is bounded so noise is not blown up.
        for (var c = 0; c < 3; c++) ratio[c] = Math.Clamp(sdOut[c] / Math.Max(sdIn[c], 1e-3), 0.5, 2.0);
        using var mapped = labGenerated.Clone();
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            var v = labGenerated.At<Vec3f>(i / width, i % width);
            mapped.Set(i / width, i % width, new Vec3f(
                (float)((v[0] - meanIn[0]) * ratio[0] + meanOut[0]),
                (float)((v[1] - meanIn[1]) * ratio[1] + meanOut[1]),
                (float)((v[2] - meanIn[2]) * ratio[2] + meanOut[2])));
        }
        using var rgb = new Mat();
        Cv2.CvtColor(mapped, rgb, ColorConversionCodes.Lab2RGB);
        var result = (byte[])generated.Pixels.Clone();
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            var back = rgb.At<Vec3f>(i / width, i % width);
            var a = mask[i] / 255.0;
            for (var c = 0; c < 3; c++)
                result[3 * i + c] = (byte)Math.Round(generated.Pixels[3 * i + c] * (1 - a) + Math.Clamp(back[c] * 255.0, 0, 255) * a);
        }
        return new RgbImage(width, height, result);
    }

    /// <summary>Poisson blending: the masked region's gradients, the background's values along its border.</summary>
    private static RgbImage Poisson(RgbImage background, RgbImage generated, byte[] mask)
    {
        int width = background.Width, height = background.Height;
        // seamlessClone needs a border of known pixels around the region: the image's outermost pixels are kept.
        var region = new byte[mask.Length];
        for (var y = 1; y < height - 1; y++)
            for (var x = 1; x < width - 1; x++)
                region[y * width + x] = mask[y * width + x] > 0 ? (byte)255 : (byte)0;
        var bounds = MaskBuilder.Bounds(region, width, height);
        if (bounds.Width == 0) return generated;
        using var src = MatConversions.ToMat(generated);
        using var dst = MatConversions.ToMat(background);
        using var m = new Mat(height, width, MatType.CV_8UC1);
        System.Runtime.InteropServices.Marshal.Copy(region, 0, m.Data, region.Length);
        using var blended = new Mat();
        var centre = new Point(bounds.X + bounds.Width / 2, bounds.Y + bounds.Height / 2);
        Cv2.SeamlessClone(src, dst, m, centre, blended, SeamlessCloneFlags.NormalClone);
        var cloned = MatConversions.ToRgb(blended);
        var result = (byte[])background.Pixels.Clone();
        for (var i = 0; i < region.Length; i++)
            if (region[i] > 0)
                for (var c = 0; c < 3; c++) result[3 * i + c] = cloned.Pixels[3 * i + c];
        return new RgbImage(width, height, result);
    }

    /// <summary>An image in CIELab (float32: L 0..100, a and b about -128..127), as OpenCV converts sRGB.</summary>
    public static Mat Lab(RgbImage image)
    {
        using var bytes = MatConversions.View(image);
        using var floats = new Mat();
        bytes.ConvertTo(floats, MatType.CV_32FC3, 1 / 255.0);
        var lab = new Mat();
        Cv2.CvtColor(floats, lab, ColorConversionCodes.RGB2Lab);
        return lab;
    }

    private static (double[] Mean, double[] Sd) Stats(Mat lab, List<int> pixels)
    {
        var mean = new double[3];
        var sq = new double[3];
        var width = lab.Cols;
        foreach (var i in pixels)
        {
            var v = lab.At<Vec3f>(i / width, i % width);
            for (var c = 0; c < 3; c++)
            {
                mean[c] += v[c];
                sq[c] += (double)v[c] * v[c];
            }
        }
        var sd = new double[3];
        for (var c = 0; c < 3; c++)
        {
            mean[c] /= pixels.Count;
            sd[c] = Math.Sqrt(Math.Max(0, sq[c] / pixels.Count - mean[c] * mean[c]));
        }
        return (mean, sd);
    }

    /// <summary>How far the mask reaches outside the box (the feather band), and the mask's bounds.</summary>
    private static (int Feather, PixelBox Bounds) Extent(byte[] mask, int width, int height, PixelBox box)
    {
        var bounds = MaskBuilder.Bounds(mask, width, height);
        var feather = Math.Max(Math.Max(box.X - bounds.X, bounds.Right - box.Right), Math.Max(box.Y - bounds.Y, bounds.Bottom - box.Bottom));
        return (Math.Max(0, feather), bounds);
    }
}
