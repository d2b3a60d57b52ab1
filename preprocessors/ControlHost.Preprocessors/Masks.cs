using System.Globalization;
using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Masks: white (255) marks the region to generate, black the region to keep, as inpainting UNets take them.
/// Made from a box, a polygon, a painted image or an alpha channel; then grown or shrunk, feathered, inverted.
/// </summary>
public static class Masks
{
    /// <summary>Options every mask module shares: applied in this order after the mask is made.</summary>
    public static readonly IReadOnlyList<OptionSpec> AdjustOptions =
    [
        new("grow", OptionKind.Integer, "0", -256, 256, "pixels to grow the mask by (negative: shrink)"),
        new("feather", OptionKind.Number, "0", 0, 128, "Gaussian sigma softening the mask's edge, in pixels"),
        new("invert", OptionKind.Boolean, "false", null, null, "swap the regions to generate and to keep"),
    ];

    /// <summary>A box in pixels of the input, then the adjustments.</summary>
    public static readonly IReadOnlyList<OptionSpec> BoxOptions =
    [
        new("x", OptionKind.Integer, "0", 0, 100000, "left edge"),
        new("y", OptionKind.Integer, "0", 0, 100000, "top edge"),
        new("width", OptionKind.Integer, "64", 1, 100000, "box width"),
        new("height", OptionKind.Integer, "64", 1, 100000, "box height"),
        .. AdjustOptions,
    ];

    public static readonly IPreprocessor BoxModule = PreprocessorModule.Image("mask_box", ["box_mask"],
        "mask of a box (x, y, width, height in pixels of the input)",
        BoxOptions,
        (i, o) => Adjust(Box(i.Width, i.Height, o.GetInt("x"), o.GetInt("y"), o.GetInt("width"), o.GetInt("height")), o));

    public static readonly IPreprocessor PolygonModule = PreprocessorModule.Image("mask_polygon", ["polygon_mask"],
        "mask of a filled polygon given as \"x1,y1 x2,y2 x3,y3 ...\" in pixels of the input",
        [new("points", OptionKind.Text, "", null, null, "at least three points \"x,y\" separated by spaces"), .. AdjustOptions],
        (i, o) => Adjust(Polygon(i.Width, i.Height, ParsePoints(o.Get("points"))), o));

    public static readonly IPreprocessor PaintedModule = PreprocessorModule.Image("mask_painted", ["mask", "inpaint_mask", "painted_mask"],
        "mask from a painted image: pixels within a tolerance of the paint colour (white by default)",
        [
            new("colour", OptionKind.Text, "#ffffff", null, null, "the paint colour, #rrggbb"),
            new("tolerance", OptionKind.Integer, "48", 0, 442, "largest RGB distance from the paint colour"),
            .. AdjustOptions,
        ],
        (i, o) =>
        {
            var paint = ColourPalette.Parse(o.Get("colour"));
            if (paint.Count != 1) throw new ArgumentException("colour must be one #rrggbb");
            return Adjust(Painted(i, paint[0].R, paint[0].G, paint[0].B, o.GetInt("tolerance")), o);
        });

    public static RgbImage Box(int width, int height, int x, int y, int boxWidth, int boxHeight)
    {
        using var mask = new Mat(height, width, MatType.CV_8UC1, Scalar.All(0));
        var rect = new Rect(x, y, boxWidth, boxHeight).Intersect(new Rect(0, 0, width, height));
        if (rect.Width <= 0 || rect.Height <= 0)
            throw new ArgumentException($"the box {x},{y} {boxWidth}x{boxHeight} lies outside the {width}x{height} image");
        mask[rect].SetTo(Scalar.All(255));
        return MatConversions.ToRgb(mask);
    }

    public static RgbImage Polygon(int width, int height, IReadOnlyList<Point> points)
    {
        if (points.Count < 3) throw new ArgumentException($"a polygon needs at least three points, got {points.Count}");
        using var mask = new Mat(height, width, MatType.CV_8UC1, Scalar.All(0));
        Cv2.FillPoly(mask, [points], Scalar.All(255));
        return MatConversions.ToRgb(mask);
    }

    public static IReadOnlyList<Point> ParsePoints(string text)
    {
        var points = new List<Point>();
        foreach (var pair in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var xy = pair.Split(',');
            if (xy.Length != 2 || !int.TryParse(xy[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var x)
                || !int.TryParse(xy[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var y))
                throw new ArgumentException($"polygon point '{pair}': expected x,y in whole pixels");
            points.Add(new Point(x, y));
        }
        return points;
    }

    /// <summary>Pixels within <paramref name="tolerance"/> (RGB distance) of the paint colour.</summary>
    public static RgbImage Painted(RgbImage painted, byte r, byte g, byte b, int tolerance)
    {
        var src = painted.Pixels;
        var dst = new byte[src.Length];
        var limit = tolerance * tolerance;
        for (var i = 0; i < src.Length; i += 3)
        {
            int dr = src[i] - r, dg = src[i + 1] - g, db = src[i + 2] - b;
            var v = dr * dr + dg * dg + db * db <= limit ? (byte)255 : (byte)0;
            dst[i] = dst[i + 1] = dst[i + 2] = v;
        }
        return new RgbImage(painted.Width, painted.Height, dst);
    }

    /// <summary>From an alpha channel (one byte a pixel): transparent (alpha below 128) is the region to generate.</summary>
    public static RgbImage FromAlpha(byte[] alpha, int width, int height)
    {
        if (alpha.Length != width * height) throw new ArgumentException($"alpha has {alpha.Length} values for a {width}x{height} image");
        var dst = new byte[width * height * 3];
        for (var i = 0; i < alpha.Length; i++) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = alpha[i] < 128 ? (byte)255 : (byte)0;
        return new RgbImage(width, height, dst);
    }

    private static RgbImage Adjust(RgbImage mask, OptionValues o) => Adjust(mask, o.GetInt("grow"), o.GetDouble("feather"), o.GetBool("invert"));

    /// <summary>Grow (positive) or shrink (negative) by whole pixels with an elliptic element, feather, invert.</summary>
    public static RgbImage Adjust(RgbImage mask, int grow, double feather, bool invert)
    {
        using var m = MatConversions.View(mask);
        using var grey = new Mat();
        Cv2.CvtColor(m, grey, ColorConversionCodes.RGB2GRAY);
        if (grow != 0)
        {
            var size = 2 * Math.Abs(grow) + 1;
            using var element = Cv2.GetStructuringElement(MorphShapes.Ellipse, new Size(size, size));
            if (grow > 0) Cv2.Dilate(grey, grey, element);
            else Cv2.Erode(grey, grey, element);
        }
        if (feather > 0) Cv2.GaussianBlur(grey, grey, new Size(0, 0), feather);
        if (invert) Cv2.BitwiseNot(grey, grey);
        return MatConversions.ToRgb(grey);
    }

    /// <summary>
    /// Composer's masking condition, 4 channels: the image in [0, 1] with the region to generate blacked out, then the
    /// binary mask (1 = generate). Shape [1, 4, H, W]; the mask is thresholded at 128.
    /// </summary>
    public static FloatTensor ComposerForm(RgbImage image, RgbImage mask)
    {
        if (image.Width != mask.Width || image.Height != mask.Height)
            throw new ArgumentException($"the mask is {mask.Width}x{mask.Height}, the image {image.Width}x{image.Height}");
        int w = image.Width, h = image.Height, plane = w * h;
        var data = new float[4 * plane];
        for (var i = 0; i < plane; i++)
        {
            var masked = mask.Pixels[3 * i] >= 128;
            for (var c = 0; c < 3; c++) data[c * plane + i] = masked ? 0f : image.Pixels[3 * i + c] / 255f;
            data[3 * plane + i] = masked ? 1f : 0f;
        }
        return new FloatTensor(data, 1, 4, h, w);
    }

    /// <summary>The picture of <see cref="ComposerForm"/>'s first three channels: the image with the region blacked out.</summary>
    public static RgbImage MaskedImage(RgbImage image, RgbImage mask)
    {
        var dst = (byte[])image.Pixels.Clone();
        for (var i = 0; i < image.Width * image.Height; i++)
            if (mask.Pixels[3 * i] >= 128) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = 0;
        return new RgbImage(image.Width, image.Height, dst);
    }

    /// <summary>"inpaint_only": the image with a box blacked out (Composer's masking form, as a picture).</summary>
    public static readonly IPreprocessor InpaintModule = PreprocessorModule.Image("inpaint", ["inpaint_only", "inpaint_global_harmonious", "composer_mask"],
        "the image with a box blacked out (Composer's masked RGB; the box is the region to generate)",
        BoxOptions,
        (i, o) => MaskedImage(i, Adjust(Box(i.Width, i.Height, o.GetInt("x"), o.GetInt("y"), o.GetInt("width"), o.GetInt("height")), o)));
}
