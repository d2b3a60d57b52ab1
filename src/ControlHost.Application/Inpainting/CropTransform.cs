using ControlHost.Abstractions;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Application.Inpainting;

/// <summary>A rectangle in whole pixels: x, y of the top-left corner, width, height.</summary>
public readonly record struct PixelBox(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;
    public int Bottom => Y + Height;

    /// <summary>"x,y,w,h" in pixels.</summary>
    /// <exception cref="FormatException">Not four integers.</exception>
    public static PixelBox Parse(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != 4 || !parts.All(p => int.TryParse(p, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out _)))
            throw new FormatException($"box '{text}': expected x,y,w,h in whole pixels (e.g. 40,60,120,90)");
        var v = parts.Select(p => int.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return new PixelBox(v[0], v[1], v[2], v[3]);
    }

    public override string ToString() => FormattableString.Invariant($"{X},{Y},{Width},{Height}");

    /// <summary>Intersection over union with another box (0 when they do not meet).</summary>
    public double IoU(PixelBox other)
    {
        var w = Math.Min(Right, other.Right) - Math.Max(X, other.X);
        var h = Math.Min(Bottom, other.Bottom) - Math.Max(Y, other.Y);
        if (w <= 0 || h <= 0) return 0;
        double inter = (double)w * h;
        return inter / ((double)Width * Height + (double)other.Width * other.Height - inter);
    }
}

/// <summary>
/// The one map between a source image and the working canvas the model generates on:
/// working = (source - origin) x scale, in continuous pixel coordinates (pixel i covers [i, i+1)). The canvas is the
/// model's working size (multiples of 8), so the crop's edges lie on the latent grid by construction; a crop that
/// reaches past the image's edge (to keep the working aspect) sees the edge pixels repeated there, and nothing is
/// generated there. The same transform is applied to the image, the mask, every unit's hint and region mask, and
/// its inverse pastes the result back, so none of them can drift apart.
/// </summary>
public sealed record CropTransform(double OriginX, double OriginY, double Scale, int SourceWidth, int SourceHeight, int WorkingWidth, int WorkingHeight)
{
    /// <summary>The source region the canvas covers, in source pixels (may reach past the image's edges).</summary>
    public (double X, double Y, double Width, double Height) Region => (OriginX, OriginY, WorkingWidth / Scale, WorkingHeight / Scale);

    /// <summary>True when the canvas is the source image itself, pixel for pixel.</summary>
    public bool IsIdentity => OriginX == 0 && OriginY == 0 && Scale == 1 && SourceWidth == WorkingWidth && SourceHeight == WorkingHeight;

    /// <summary>The whole image on the canvas, aspect kept and centred.</summary>
    public static CropTransform Whole(int sourceWidth, int sourceHeight, int workingWidth, int workingHeight)
    {
        var scale = Math.Min((double)workingWidth / sourceWidth, (double)workingHeight / sourceHeight);
        return new CropTransform((sourceWidth - workingWidth / scale) / 2, (sourceHeight - workingHeight / scale) / 2, scale,
            sourceWidth, sourceHeight, workingWidth, workingHeight);
    }

    /// <summary>
    /// A1111's "only masked": the box grown by <paramref name="padding"/> source pixels on each side, then grown to
    /// the canvas' aspect about its centre, moved inside the image where it fits, and scaled to the canvas. A box
    /// smaller than the canvas is scaled up, so it is generated at the model's working resolution.
    /// </summary>
    public static CropTransform AroundBox(PixelBox box, int padding, int sourceWidth, int sourceHeight, int workingWidth, int workingHeight)
    {
        double x0 = box.X - padding, y0 = box.Y - padding, w = box.Width + 2.0 * padding, h = box.Height + 2.0 * padding;
        var aspect = (double)workingWidth / workingHeight;
        if (w / h < aspect)
        {
            var grown = h * aspect;
            x0 -= (grown - w) / 2;
            w = grown;
        }
        else
        {
            var grown = w / aspect;
            y0 -= (grown - h) / 2;
            h = grown;
        }
        x0 = Inside(x0, w, sourceWidth);
        y0 = Inside(y0, h, sourceHeight);
        return new CropTransform(x0, y0, workingWidth / w, sourceWidth, sourceHeight, workingWidth, workingHeight);
    }

    private static double Inside(double start, double length, int limit) =>
        length >= limit ? (limit - length) / 2 : Math.Clamp(start, 0, limit - length);

    public (double X, double Y) ToWorking(double x, double y) => ((x - OriginX) * Scale, (y - OriginY) * Scale);

    public (double X, double Y) ToSource(double x, double y) => (x / Scale + OriginX, y / Scale + OriginY);

    /// <summary>The source image on the canvas; past the image's edge its edge pixels repeat.</summary>
    public RgbImage Apply(RgbImage source) => Warp(source, WorkingWidth, WorkingHeight, Forward(), BorderTypes.Replicate, 1 / Scale);

    /// <summary>A hint or region mask on the canvas: past the image's edge it is empty (black).</summary>
    public RgbImage ApplyHint(RgbImage hint) => Warp(hint, WorkingWidth, WorkingHeight, Forward(), BorderTypes.Constant, 1 / Scale);

    /// <summary>A grey mask (0 keep .. 255 generate, source size) on the canvas; past the image's edge it is 0.</summary>
    public byte[] ApplyMask(byte[] mask) => Grey(ApplyHint(Replicate(mask, SourceWidth, SourceHeight)));

    /// <summary>
    /// The canvas pasted back into the source: where <paramref name="sourceMask"/> is 0 the source's pixels stay as
    /// they are, byte for byte; where it is 255 the canvas (scaled back) replaces them; grey blends, with the same
    /// rounding as the engine's own blend so that an identity transform gives the engine's pixels.
    /// </summary>
    public RgbImage PasteBack(RgbImage source, RgbImage canvas, byte[] sourceMask)
    {
        var back = IsIdentity ? canvas : Warp(canvas, SourceWidth, SourceHeight, Inverse(), BorderTypes.Replicate, Scale);
        var pixels = (byte[])source.Pixels.Clone();
        for (var i = 0; i < sourceMask.Length; i++)
        {
            var a = sourceMask[i];
            if (a == 0) continue;
            for (var c = 0; c < 3; c++)
            {
                var k = 3 * i + c;
                pixels[k] = a == 255 ? back.Pixels[k] : (byte)((back.Pixels[k] * a + source.Pixels[k] * (255 - a) + 127) / 255);
            }
        }
        return new RgbImage(source.Width, source.Height, pixels);
    }

    // OpenCV's warpAffine puts pixel centres at integers; these matrices convert from the [i, i+1) convention.
    private double[,] Forward() => new[,]
    {
        { Scale, 0, Scale * (0.5 - OriginX) - 0.5 },
        { 0, Scale, Scale * (0.5 - OriginY) - 0.5 },
    };

    private double[,] Inverse() => new[,]
    {
        { 1 / Scale, 0, OriginX + 0.5 / Scale - 0.5 },
        { 0, 1 / Scale, OriginY + 0.5 / Scale - 0.5 },
    };

    /// <summary>Resamples bilinearly; when shrinking by more than 1.5x the input is blurred first against aliasing.</summary>
    private static RgbImage Warp(RgbImage input, int width, int height, double[,] m, BorderTypes border, double shrink)
    {
        using var src = MatConversions.View(input);
        using var blurred = new Mat();
        var from = src;
        if (shrink > 1.5)
        {
            Cv2.GaussianBlur(src, blurred, new Size(0, 0), 0.45 * shrink);
            from = blurred;
        }
        using var matrix = new Mat(2, 3, MatType.CV_64FC1);
        for (var r = 0; r < 2; r++)
            for (var c = 0; c < 3; c++) matrix.Set(r, c, m[r, c]);
        using var dst = new Mat();
        Cv2.WarpAffine(from, dst, matrix, new Size(width, height), InterpolationFlags.Linear, border, Scalar.All(0));
        return MatConversions.ToRgb(dst);
    }

    internal static RgbImage Replicate(byte[] grey, int width, int height)
    {
        var px = new byte[grey.Length * 3];
        for (var i = 0; i < grey.Length; i++) px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = grey[i];
        return new RgbImage(width, height, px);
    }

    internal static byte[] Grey(RgbImage image)
    {
        var g = new byte[image.Width * image.Height];
        for (var i = 0; i < g.Length; i++) g[i] = image.Pixels[3 * i];
        return g;
    }
}
