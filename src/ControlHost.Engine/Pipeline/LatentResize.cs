namespace ControlHost.Engine.Pipeline;

/// <summary>A1111's latent upscale modes (hires fix): the interpolation torch's F.interpolate does on the latent.</summary>
public enum LatentUpscaleMode
{
    /// <summary>"Latent": bilinear.</summary>
    Bilinear,
    /// <summary>"Latent (antialiased)": bilinear with antialias.</summary>
    BilinearAntialiased,
    /// <summary>"Latent (bicubic)": bicubic (a = -0.75).</summary>
    Bicubic,
    /// <summary>"Latent (bicubic antialiased)": bicubic with antialias (a = -0.5, as PIL).</summary>
    BicubicAntialiased,
    /// <summary>"Latent (nearest)": torch's legacy nearest (floor of dst x scale).</summary>
    Nearest,
    /// <summary>"Latent (nearest-exact)": nearest pixel centres.</summary>
    NearestExact,
}

/// <summary>
/// Resizes a [C,H,W] latent as torch.nn.functional.interpolate(size=..., align_corners=False) does for each mode
/// (facts from PyTorch's UpSample kernels: source index scale*(dst+0.5)-0.5, cubic coefficient -0.75, the antialiased
/// path's separable filters normalised per output sample, cubic -0.5 there), checked against PyTorch's own output.
/// </summary>
public static class LatentResize
{
    public static float[] Resize(float[] latent, int channels, int height, int width, int newHeight, int newWidth, LatentUpscaleMode mode)
    {
        if (latent.Length != channels * height * width) throw new ArgumentException($"latent of {latent.Length} values is not [{channels},{height},{width}]");
        if (newHeight < 1 || newWidth < 1) throw new ArgumentException($"size {newWidth}x{newHeight} must be at least 1x1");
        var rows = Weights(height, newHeight, mode);
        var cols = Weights(width, newWidth, mode);
        var result = new float[channels * newHeight * newWidth];
        var temp = new double[height * newWidth];
        for (var c = 0; c < channels; c++)
        {
            var plane = c * height * width;
            // Along the width, then along the height (the two passes are separable for every mode).
            for (var y = 0; y < height; y++)
                for (var x = 0; x < newWidth; x++)
                {
                    double sum = 0;
                    foreach (var (i, w) in cols[x]) sum += w * latent[plane + y * width + i];
                    temp[y * newWidth + x] = sum;
                }
            var output = c * newHeight * newWidth;
            for (var y = 0; y < newHeight; y++)
                for (var x = 0; x < newWidth; x++)
                {
                    double sum = 0;
                    foreach (var (i, w) in rows[y]) sum += w * temp[i * newWidth + x];
                    result[output + y * newWidth + x] = (float)sum;
                }
        }
        return result;
    }

    /// <summary>For each output index, the input indices it reads and their weights.</summary>
    private static (int Index, double Weight)[][] Weights(int input, int output, LatentUpscaleMode mode)
    {
        var scale = (double)input / output;
        var weights = new (int, double)[output][];
        for (var d = 0; d < output; d++)
        {
            weights[d] = mode switch
            {
                LatentUpscaleMode.Nearest => [(Math.Min((int)Math.Floor(d * scale), input - 1), 1.0)],
                LatentUpscaleMode.NearestExact => [(Math.Min((int)Math.Floor((d + 0.5) * scale), input - 1), 1.0)],
                LatentUpscaleMode.Bilinear => Linear(d, scale, input),
                LatentUpscaleMode.Bicubic => Cubic(d, scale, input),
                LatentUpscaleMode.BilinearAntialiased => Antialiased(d, scale, input, 1, x => x < 1 ? 1 - x : 0),
                _ => Antialiased(d, scale, input, 2, x => CubicKernel(x, -0.5)),
            };
        }
        return weights;
    }

    private static (int, double)[] Linear(int d, double scale, int input)
    {
        var src = Math.Max(0, scale * (d + 0.5) - 0.5);
        var i0 = Math.Min((int)Math.Floor(src), input - 1);
        var i1 = Math.Min(i0 + 1, input - 1);
        var t = src - i0;
        return [(i0, 1 - t), (i1, t)];
    }

    private static (int, double)[] Cubic(int d, double scale, int input)
    {
        const double a = -0.75;
        var src = scale * (d + 0.5) - 0.5; // not clamped for cubic
        var i = (int)Math.Floor(src);
        var t = src - i;
        int At(int k) => Math.Clamp(k, 0, input - 1);
        return [(At(i - 1), CubicKernel(t + 1, a)), (At(i), CubicKernel(t, a)), (At(i + 1), CubicKernel(1 - t, a)), (At(i + 2), CubicKernel(2 - t, a))];
    }

    private static double CubicKernel(double x, double a)
    {
        x = Math.Abs(x);
        if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
        return 0;
    }

    /// <summary>The antialiased path: a filter of <paramref name="support"/> widened by the downscale factor, its weights
    /// normalised over the input samples it covers.</summary>
    private static (int, double)[] Antialiased(int d, double scale, int input, double support, Func<double, double> filter)
    {
        var widen = Math.Max(scale, 1.0);
        var reach = support * widen;
        var centre = scale * (d + 0.5);
        var lo = Math.Max((int)(centre - reach + 0.5), 0);
        var hi = Math.Min((int)(centre + reach + 0.5), input);
        var list = new List<(int, double)>();
        double total = 0;
        for (var j = lo; j < hi; j++)
        {
            var w = filter(Math.Abs((j - centre + 0.5) / widen));
            list.Add((j, w));
            total += w;
        }
        return total == 0 ? list.ToArray() : list.Select(p => (p.Item1, p.Item2 / total)).ToArray();
    }
}
