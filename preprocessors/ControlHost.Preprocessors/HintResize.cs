using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>How an image is fitted to a size of another aspect: stretched, scaled to cover and cropped, or scaled to
/// fit inside and padded (sd-webui-controlnet's Just Resize, Crop and Resize, Resize and Fill).</summary>
public enum HintFit
{
    Stretch,
    Cover,
    Contain,
}

/// <summary>
/// The one resize of control images (processor resolution and the fit to the generation's canvas), with the rules
/// sd-webui-controlnet's "high quality resize" applies so that maps keep what makes them maps:
/// <list type="bullet">
/// <item>a map of 3 to 199 colours (segmentation, colour grids) is resized with nearest neighbours, so no new colours
/// appear between classes;</item>
/// <item>a black-and-white map (two colours, one under 16 and one over 240: edges, scribbles, masks) is resized as a
/// picture, then made black and white again by Otsu's threshold of its grey;</item>
/// <item>anything else: area averaging when shrinking, bicubic when enlarging;</item>
/// <item>padding (Resize and Fill) takes the median colour of the image's border, so the pad continues the picture.</item>
/// </list>
/// The extension also thins one-pixel edges after enlarging; that step is not done here (enlarged edges stay a few
/// pixels wide, as with a plain threshold).
/// </summary>
public static class HintResize
{
    /// <summary>Fits <paramref name="input"/> to width x height.</summary>
    public static RgbImage Fit(RgbImage input, int width, int height, HintFit fit)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"size {width}x{height} must be at least 1x1");
        if (input.Width == width && input.Height == height) return input;
        if (fit == HintFit.Stretch) return Resize(input, width, height);
        var kx = (double)width / input.Width;
        var ky = (double)height / input.Height;
        var k = fit == HintFit.Cover ? Math.Max(kx, ky) : Math.Min(kx, ky);
        var w = Math.Max(1, (int)Math.Round(input.Width * k));
        var h = Math.Max(1, (int)Math.Round(input.Height * k));
        var scaled = Resize(input, w, h);
        var pixels = new byte[width * height * 3];
        if (fit == HintFit.Cover)
        {
            // Centred window of the scaled image; the rounding can leave it a pixel short, which the edge fills.
            int x0 = Math.Max(0, (w - width) / 2), y0 = Math.Max(0, (h - height) / 2);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    int sx = Math.Min(w - 1, x0 + x), sy = Math.Min(h - 1, y0 + y);
                    Array.Copy(scaled.Pixels, (sy * w + sx) * 3, pixels, (y * width + x) * 3, 3);
                }
            return new RgbImage(width, height, pixels);
        }
        var (r, g, b) = MedianBorder(input);
        for (var i = 0; i < width * height; i++) (pixels[i * 3], pixels[i * 3 + 1], pixels[i * 3 + 2]) = (r, g, b);
        int px = Math.Max(0, (width - w) / 2), py = Math.Max(0, (height - h) / 2);
        for (var y = 0; y < Math.Min(h, height); y++)
            Array.Copy(scaled.Pixels, y * w * 3, pixels, ((py + y) * width + px) * 3, Math.Min(w, width) * 3);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Resizes to exactly width x height with the map rules above.</summary>
    public static RgbImage Resize(RgbImage input, int width, int height)
    {
        if (width == input.Width && height == input.Height) return input;
        var colours = CountColours(input, 200);
        if (colours is > 2 and < 200)
        {
            using var mat = MatConversions.View(input);
            using var nearest = new Mat();
            Cv2.Resize(mat, nearest, new Size(width, height), 0, 0, InterpolationFlags.Nearest);
            return MatConversions.ToRgb(nearest);
        }
        var resized = Geometry.Resize(input, width, height);
        if (colours != 2 || !IsBlackAndWhite(input)) return resized;
        using var view = MatConversions.View(resized);
        using var grey = new Mat();
        Cv2.CvtColor(view, grey, ColorConversionCodes.RGB2GRAY);
        using var bw = new Mat();
        Cv2.Threshold(grey, bw, 0, 255, ThresholdTypes.Binary | ThresholdTypes.Otsu);
        return MatConversions.ToRgb(bw);
    }

    /// <summary>The number of distinct colours, counted up to <paramref name="cap"/>.</summary>
    internal static int CountColours(RgbImage image, int cap)
    {
        var seen = new HashSet<int>();
        var p = image.Pixels;
        for (var i = 0; i < p.Length; i += 3)
            if (seen.Add(p[i] << 16 | p[i + 1] << 8 | p[i + 2]) && seen.Count >= cap) break;
        return seen.Count;
    }

    private static bool IsBlackAndWhite(RgbImage image)
    {
        byte min = 255, max = 0;
        foreach (var v in image.Pixels) { if (v < min) min = v; if (v > max) max = v; }
        return min < 16 && max > 240;
    }

    /// <summary>Per channel, the median of the image's outermost rows and columns.</summary>
    private static (byte, byte, byte) MedianBorder(RgbImage image)
    {
        var border = new List<int>();
        for (var x = 0; x < image.Width; x++) { border.Add(x); border.Add((image.Height - 1) * image.Width + x); }
        for (var y = 0; y < image.Height; y++) { border.Add(y * image.Width); border.Add(y * image.Width + image.Width - 1); }
        byte Median(int channel)
        {
            var values = border.Select(i => image.Pixels[i * 3 + channel]).Order().ToArray();
            return values[values.Length / 2];
        }
        return (Median(0), Median(1), Median(2));
    }
}
