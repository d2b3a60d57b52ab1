using ControlHost.Abstractions;

namespace ControlHost.Engine.Conditioning;

/// <summary>
/// A unit's region mask: values in [0,1] at the generation size, with area-averaged copies at each residual
/// resolution made once and reused every step.
/// </summary>
public sealed class RegionMask
{
    private readonly float[] _full;
    private readonly Dictionary<(int H, int W), float[]> _scaled = new();

    public RegionMask(float[] values, int width, int height)
    {
        if (values.Length != width * height) throw new ArgumentException($"mask has {values.Length} values for {width}x{height}");
        _full = values;
        Width = width;
        Height = height;
    }

    public int Width { get; }
    public int Height { get; }

    /// <summary>From an image: the mean of R, G and B over 255 (white = full effect).</summary>
    public static RegionMask FromImage(RgbImage image)
    {
        var v = new float[image.Width * image.Height];
        for (var i = 0; i < v.Length; i++)
            v[i] = (image.Pixels[3 * i] + image.Pixels[3 * i + 1] + image.Pixels[3 * i + 2]) / (3f * 255f);
        return new RegionMask(v, image.Width, image.Height);
    }

    /// <summary>The mask area-averaged to h x w (each target cell is the mean of the source pixels it covers).</summary>
    public float[] At(int h, int w)
    {
        if (_scaled.TryGetValue((h, w), out var cached)) return cached;
        var result = new float[h * w];
        for (var y = 0; y < h; y++)
        {
            int y0 = y * Height / h, y1 = Math.Max(y0 + 1, (y + 1) * Height / h);
            for (var x = 0; x < w; x++)
            {
                int x0 = x * Width / w, x1 = Math.Max(x0 + 1, (x + 1) * Width / w);
                double sum = 0;
                for (var yy = y0; yy < y1; yy++)
                    for (var xx = x0; xx < x1; xx++) sum += _full[yy * Width + xx];
                result[y * w + x] = (float)(sum / ((y1 - y0) * (x1 - x0)));
            }
        }
        return _scaled[(h, w)] = result;
    }
}
