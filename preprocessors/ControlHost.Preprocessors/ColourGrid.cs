using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// T2I-Adapter's colour grid (sd-webui-controlnet's "color" module): the image shrunk by a factor (64 by default)
/// with area averaging, then enlarged back with nearest-neighbour, so each cell holds its mean colour.
/// </summary>
public static class ColourGrid
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("cell", OptionKind.Integer, "64", 2, 512, "cell size in pixels (the shrink factor)"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("colour_grid", ["color", "t2ia_color_grid", "color_grid"],
        "T2I colour grid: mean colour per cell (shrink by the cell size, nearest-neighbour back)", Options,
        (i, o) => Run(i, o.GetInt("cell")));

    public static RgbImage Run(RgbImage input, int cell = 64)
    {
        using var mat = MatConversions.View(input);
        using var small = new Mat();
        using var big = new Mat();
        var w = Math.Max(1, input.Width / cell);
        var h = Math.Max(1, input.Height / cell);
        Cv2.Resize(mat, small, new Size(w, h), 0, 0, InterpolationFlags.Area);
        Cv2.Resize(small, big, new Size(input.Width, input.Height), 0, 0, InterpolationFlags.Nearest);
        return MatConversions.ToRgb(big);
    }
}
