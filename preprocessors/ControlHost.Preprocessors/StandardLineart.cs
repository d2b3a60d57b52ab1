using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// sd-webui-controlnet's "lineart_standard (from white bg & black line)", which needs no network: how much darker each
/// pixel is than its Gaussian-blurred surroundings (the smallest over the three channels), normalised by the median
/// of the clearly dark pixels and scaled so that a typical line is half-bright; white lines on black.
/// </summary>
public static class StandardLineart
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("sigma", OptionKind.Number, "6", 0.5, 64, "Gaussian sigma of the surroundings, in pixels"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("lineart_standard", ["lineart_standard", "lineart_standard (from white bg & black line)"],
        "standard lineart: how much darker than its blurred surroundings each pixel is, white lines on black", Options,
        (i, o) => Run(i, o.GetDouble("sigma")));

    public static RgbImage Run(RgbImage input, double sigma = 6)
    {
        using var rgb = MatConversions.View(input);
        using var x = new Mat();
        rgb.ConvertTo(x, MatType.CV_32FC3);
        using var blurred = new Mat();
        Cv2.GaussianBlur(x, blurred, new Size(0, 0), sigma);
        using var darker = new Mat();
        Cv2.Subtract(blurred, x, darker);
        var channels = Cv2.Split(darker);
        using var least = new Mat();
        Cv2.Min(channels[0], channels[1], least);
        Cv2.Min(least, channels[2], least);
        foreach (var c in channels) c.Dispose();
        var plane = input.Width * input.Height;
        var values = new float[plane];
        System.Runtime.InteropServices.Marshal.Copy(least.Data, values, 0, plane);
        for (var i = 0; i < plane; i++) values[i] = Math.Clamp(values[i], 0, 255);
        // The median of the clearly dark pixels sets the scale (at least 16, so a flat image stays black).
        var dark = values.Where(v => v > 8).OrderBy(v => v).ToArray();
        var scale = Math.Max(16f, dark.Length == 0 ? 0 : dark[dark.Length / 2]);
        var pixels = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
        {
            var v = (byte)Math.Clamp(Math.Round(values[i] / scale * 127), 0, 255);
            pixels[3 * i] = pixels[3 * i + 1] = pixels[3 * i + 2] = v;
        }
        return new RgbImage(input.Width, input.Height, pixels);
    }
}
