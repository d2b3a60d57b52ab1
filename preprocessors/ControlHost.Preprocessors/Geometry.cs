using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>Processor resolution as sd-webui-controlnet handles it.</summary>
public static class Geometry
{
    /// <summary>
    /// The "pixel perfect" processor resolution: the short side the preprocessor should work at so that its hint maps
    /// onto the generation one pixel to one. For resize-and-fill (the whole input fits inside the target) the smaller
    /// scale factor applies, for just-resize and crop-and-resize the larger one (sd-webui-controlnet's rule).
    /// </summary>
    public static int PixelPerfectResolution(int inputWidth, int inputHeight, int targetWidth, int targetHeight, bool resizeAndFill)
    {
        if (inputWidth <= 0 || inputHeight <= 0 || targetWidth <= 0 || targetHeight <= 0)
            throw new ArgumentException("sizes must be positive");
        var kx = (double)targetWidth / inputWidth;
        var ky = (double)targetHeight / inputHeight;
        var k = resizeAndFill ? Math.Min(kx, ky) : Math.Max(kx, ky);
        return (int)Math.Round(k * Math.Min(inputWidth, inputHeight));
    }

    /// <summary>Scales an image so that its short side is <paramref name="shortSide"/>, with <see cref="HintResize"/>'s rules
    /// (the processor resolution of modules run on their own).</summary>
    public static RgbImage ResizeShortSide(RgbImage input, int shortSide)
    {
        if (shortSide < 1) throw new ArgumentException($"resolution {shortSide} must be at least 1");
        var scale = (double)shortSide / Math.Min(input.Width, input.Height);
        var w = Math.Max(1, (int)Math.Round(input.Width * scale));
        var h = Math.Max(1, (int)Math.Round(input.Height * scale));
        return HintResize.Resize(input, w, h);
    }

    /// <summary>Resizes a picture to exactly width x height (area filter when shrinking, cubic when enlarging); control
    /// maps go through <see cref="HintResize"/>, which keeps their colours.</summary>
    public static RgbImage Resize(RgbImage input, int width, int height)
    {
        if (width == input.Width && height == input.Height) return input;
        using var mat = MatConversions.View(input);
        using var resized = new Mat();
        var shrinking = width * height < input.Width * input.Height;
        Cv2.Resize(mat, resized, new Size(width, height), 0, 0, shrinking ? InterpolationFlags.Area : InterpolationFlags.Cubic);
        return MatConversions.ToRgb(resized);
    }
}
