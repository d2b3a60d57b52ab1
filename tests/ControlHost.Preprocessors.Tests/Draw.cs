using ControlHost.Abstractions;
using ControlHost.Engine.Models;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Preprocessors.Tests;

/// <summary>Synthetic test images drawn with OpenCV, and repository paths.</summary>
internal static class Draw
{
    public static string Root { get; } = ProgramFolders.FindAbove(d => File.Exists(Path.Combine(d, "ControlHost.sln")))
        ?? throw new InvalidOperationException("ControlHost.sln not found above the test's folder");

    public static string ModelFixture(string name) => Path.Combine(Root, "tests", "fixtures", "preprocessor-models", name);

    public static RgbImage Flat(int width, int height, byte r, byte g, byte b)
    {
        var px = new byte[width * height * 3];
        for (var i = 0; i < px.Length; i += 3) (px[i], px[i + 1], px[i + 2]) = (r, g, b);
        return new RgbImage(width, height, px);
    }

    /// <summary>A filled rectangle (x0, y0)-(x1, y1) inclusive in one colour on another.</summary>
    public static RgbImage Rectangle(int width, int height, int x0, int y0, int x1, int y1,
        (byte R, byte G, byte B) fill, (byte R, byte G, byte B) background)
    {
        using var mat = new Mat(height, width, MatType.CV_8UC3, new Scalar(background.R, background.G, background.B));
        Cv2.Rectangle(mat, new Point(x0, y0), new Point(x1, y1), new Scalar(fill.R, fill.G, fill.B), -1);
        return MatConversions.ToRgb(mat);
    }

    public static RgbImage Noise(int width, int height, int seed)
    {
        var px = new byte[width * height * 3];
        new Random(seed).NextBytes(px);
        return new RgbImage(width, height, px);
    }

    public static int CountWhite(RgbImage image, int threshold = 128)
    {
        var n = 0;
        for (var i = 0; i < image.Pixels.Length; i += 3) if (image.Pixels[i] >= threshold) n++;
        return n;
    }

    public static (byte R, byte G, byte B) At(RgbImage image, int x, int y)
    {
        var i = (y * image.Width + x) * 3;
        return (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]);
    }
}
