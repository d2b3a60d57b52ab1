using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Content shuffle: the image warped by a smooth random flow (each output pixel reads from a random place that
/// varies smoothly across the image), so colours and textures survive but the layout does not. Seeded: the same
/// seed and size give the same flow.
/// </summary>
public static class Shuffle
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("seed", OptionKind.Integer, "0", 0, int.MaxValue, "seed of the random flow"),
        new("grid", OptionKind.Integer, "8", 2, 64, "control points per side of the flow (more: finer shuffle)"),
    ];

    public static readonly IPreprocessor Module = PreprocessorModule.Image("shuffle", ["shuffle", "content_shuffle"],
        "content shuffle: the image warped by a smooth seeded random flow", Options,
        (i, o) => Run(i, o.GetInt("seed"), o.GetInt("grid")));

    public static RgbImage Run(RgbImage input, int seed = 0, int grid = 8)
    {
        var random = new Random(seed);
        using var mapX = RandomField(random, grid, input.Width, input.Height, input.Width - 1);
        using var mapY = RandomField(random, grid, input.Width, input.Height, input.Height - 1);
        using var mat = MatConversions.View(input);
        using var warped = new Mat();
        Cv2.Remap(mat, warped, mapX, mapY, InterpolationFlags.Linear, BorderTypes.Reflect101);
        return MatConversions.ToRgb(warped);
    }

    /// <summary>Uniform random values in [0, max] on a grid x grid lattice, enlarged smoothly to width x height.</summary>
    private static Mat RandomField(Random random, int grid, int width, int height, int max)
    {
        var values = new float[grid * grid];
        for (var k = 0; k < values.Length; k++) values[k] = (float)(random.NextDouble() * max);
        using var small = Mat.FromPixelData(grid, grid, MatType.CV_32FC1, values);
        var field = new Mat();
        Cv2.Resize(small, field, new Size(width, height), 0, 0, InterpolationFlags.Cubic);
        Cv2.Min(field, (double)max, field);
        Cv2.Max(field, 0.0, field);
        return field;
    }
}
