using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// The <c>reference</c> condition: a picture of one object, cut out as the reference adapter takes it. The object is
/// what differs from the picture's border colour (the per-channel median of the outermost pixels) by more than the
/// threshold in some channel; its bounding box is padded to a square about its centre and resized with area
/// averaging to <see cref="Size"/> squared, as four planes: RGB times the mask, then the mask, all in [0, 1].
/// tools/forge/reference.py trains the adapter on the same planes (tests/fixtures/reference holds Python's).
/// </summary>
public static class ObjectReference
{
    public const int Size = 32;
    public const int Planes = 4;

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("threshold", OptionKind.Integer, "40", 1, 254,
            "how far a pixel's colour must be from the border's (largest channel difference) to be part of the object"),
    ];

    /// <summary>The registry's module: the condition vector, and the cut-out it pictures as the image.</summary>
    public static readonly IPreprocessor Module = new PreprocessorModule("reference", ["object_reference", "reference_object"],
        "An image of an object (on a plain background) as the reference adapter's condition: the object cut out, 4x32x32", Options,
        (image, options) =>
        {
            var threshold = options.GetInt("threshold");
            var mask = ForegroundMask(image, threshold);
            string? note = null;
            if (!mask.Contains((byte)1))
            {
                // Nothing stands out from the border (a flat picture, or an object that fills it): the whole picture
                // is the object, which still gives its colour.
                Array.Fill(mask, (byte)1);
                note = $"no object stood out from the border's colour by more than {threshold}, so the whole picture was taken as the object; " +
                       "for the object's shape, give it on a plain background or lower 'threshold'";
            }
            var vector = Compute(image, mask);
            return new PreprocessorResult(Visualise(vector, 128), vector, Note: note);
        });

    /// <summary>1 where a pixel is part of the object, row by row.</summary>
    public static byte[] ForegroundMask(RgbImage image, int threshold)
    {
        var border = BorderColour(image);
        var mask = new byte[image.Width * image.Height];
        var p = image.Pixels;
        for (var i = 0; i < mask.Length; i++)
        {
            var d = Math.Max(Math.Abs(p[3 * i] - border[0]), Math.Max(Math.Abs(p[3 * i + 1] - border[1]), Math.Abs(p[3 * i + 2] - border[2])));
            mask[i] = d > threshold ? (byte)1 : (byte)0;
        }
        return mask;
    }

    /// <summary>The per-channel median of the outermost ring of pixels (the mean of the two middle values, rounded
    /// half to even, as numpy's median and round give).</summary>
    public static int[] BorderColour(RgbImage image)
    {
        int w = image.Width, h = image.Height;
        var ring = new List<int>[3] { [], [], [] };
        void Add(int x, int y)
        {
            for (var c = 0; c < 3; c++) ring[c].Add(image.Pixels[(y * w + x) * 3 + c]);
        }
        for (var x = 0; x < w; x++)
        {
            Add(x, 0);
            if (h > 1) Add(x, h - 1);
        }
        for (var y = 1; y < h - 1; y++)
        {
            Add(0, y);
            if (w > 1) Add(w - 1, y);
        }
        return ring.Select(values =>
        {
            values.Sort();
            var n = values.Count;
            return n % 2 == 1 ? values[n / 2] : (int)Math.Round((values[n / 2 - 1] + values[n / 2]) / 2.0, MidpointRounding.ToEven);
        }).ToArray();
    }

    /// <summary>The four planes of the object under <paramref name="mask"/> (see the class), channel-major.</summary>
    public static float[] Compute(RgbImage image, byte[] mask)
    {
        int w = image.Width, x0 = w, y0 = image.Height, x1 = -1, y1 = -1;
        for (var i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            int x = i % w, y = i / w;
            (x0, x1, y0, y1) = (Math.Min(x0, x), Math.Max(x1, x), Math.Min(y0, y), Math.Max(y1, y));
        }
        if (x1 < 0) throw new ArgumentException("the object's mask is empty");
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1, side = Math.Max(bw, bh), ox = (side - bw) / 2, oy = (side - bh) / 2;
        var square = new float[side * side * Planes];
        for (var y = 0; y < bh; y++)
            for (var x = 0; x < bw; x++)
            {
                var src = (y0 + y) * w + x0 + x;
                if (mask[src] == 0) continue;
                var dst = ((oy + y) * side + ox + x) * Planes;
                for (var c = 0; c < 3; c++) square[dst + c] = image.Pixels[src * 3 + c] / 255f;
                square[dst + 3] = 1f;
            }
        using var big = Mat.FromPixelData(side, side, MatType.CV_32FC4, square);
        using var small = new Mat();
        Cv2.Resize(big, small, new OpenCvSharp.Size(Size, Size), 0, 0, InterpolationFlags.Area);
        small.GetArray(out Vec4f[] pixels);
        var planes = new float[Planes * Size * Size];
        for (var i = 0; i < pixels.Length; i++)
            for (var c = 0; c < Planes; c++) planes[c * Size * Size + i] = pixels[i][c];
        return planes;
    }

    /// <summary>The cut-out (its RGB planes) enlarged to <paramref name="side"/> pixels square, nearest neighbour.</summary>
    public static RgbImage Visualise(float[] planes, int side)
    {
        var pixels = new byte[side * side * 3];
        for (var y = 0; y < side; y++)
            for (var x = 0; x < side; x++)
            {
                var src = y * Size / side * Size + x * Size / side;
                for (var c = 0; c < 3; c++) pixels[(y * side + x) * 3 + c] = (byte)Math.Clamp(Math.Round(planes[c * Size * Size + src] * 255), 0, 255);
            }
        return new RgbImage(side, side, pixels);
    }
}
