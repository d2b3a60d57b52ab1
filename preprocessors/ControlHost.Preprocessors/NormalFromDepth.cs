using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// A normal map from a ready depth map (grey, near = bright), for normal ControlNets, the way sd-webui-controlnet
/// turns MiDaS depth into normal_midas: Sobel gradients of the depth as x and y, a constant 2π as z, the vector
/// normalised and mapped to 0-255; where the normalised depth is below the background threshold, x and y are zero
/// (the background faces the camera).
/// </summary>
public static class NormalFromDepth
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("background_threshold", OptionKind.Number, "0.4", 0, 1, "normalised depth below which the surface faces the camera"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("normal_from_depth", ["normal_from_depth", "normal_depth"],
        "normal map from a ready depth map (near = bright): Sobel gradients and 2π as z, normalised", Options,
        (i, o) => Run(i, o.GetDouble("background_threshold")));

    public static RgbImage Run(RgbImage depth, double backgroundThreshold = 0.4)
    {
        using var rgb = MatConversions.View(depth);
        using var grey = new Mat();
        Cv2.CvtColor(rgb, grey, ColorConversionCodes.RGB2GRAY);
        using var d = new Mat();
        grey.ConvertTo(d, MatType.CV_32F);
        Cv2.MinMaxLoc(d, out double min, out double max);
        using var dx = new Mat();
        using var dy = new Mat();
        Cv2.Sobel(d, dx, MatType.CV_32F, 1, 0, 3);
        Cv2.Sobel(d, dy, MatType.CV_32F, 0, 1, 3);
        int w = depth.Width, h = depth.Height, plane = w * h;
        float[] gx = new float[plane], gy = new float[plane], dv = new float[plane];
        System.Runtime.InteropServices.Marshal.Copy(dx.Data, gx, 0, plane);
        System.Runtime.InteropServices.Marshal.Copy(dy.Data, gy, 0, plane);
        System.Runtime.InteropServices.Marshal.Copy(d.Data, dv, 0, plane);
        var range = Math.Max(1e-6, max - min);
        const double z = Math.PI * 2;
        var pixels = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        {
            double x = gx[i], y = gy[i];
            if ((dv[i] - min) / range < backgroundThreshold) x = y = 0;
            var norm = Math.Sqrt(x * x + y * y + z * z);
            pixels[3 * i] = (byte)Math.Clamp(Math.Round(x / norm * 127.5 + 127.5), 0, 255);
            pixels[3 * i + 1] = (byte)Math.Clamp(Math.Round(y / norm * 127.5 + 127.5), 0, 255);
            pixels[3 * i + 2] = (byte)Math.Clamp(Math.Round(z / norm * 127.5 + 127.5), 0, 255);
        }
        return new RgbImage(w, h, pixels);
    }
}
