using System.Globalization;
using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// The Composer colour histogram of a user palette (colour -> weight) instead of an image: each colour's weight goes
/// to its nearest codebook colour, weights are normalised to sum 1, then smoothed exactly as an image's counts are.
/// </summary>
public static class ColourPalette
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("palette", OptionKind.Text, "", null, null, "colours with weights, e.g. \"#ff0000:2,#2040e0:1\" (weight 1 if left out)"),
    ];

    /// <summary>The registry's module; the input image is not used.</summary>
    public static readonly IPreprocessor Module = new PreprocessorModule("colour_palette", ["palette"],
        "Composer colour histogram of a palette given as an option (the input image is ignored)", Options,
        (_, o) =>
        {
            var vector = Histogram(Parse(o.Get("palette")));
            return new PreprocessorResult(ColourHistogram.Visualise(vector, 360, 48), vector);
        });

    public static float[] Histogram(IReadOnlyList<(byte R, byte G, byte B, double Weight)> palette)
    {
        var total = palette.Sum(p => p.Weight);
        if (palette.Count == 0 || total <= 0) throw new ArgumentException("the palette needs at least one colour with a positive weight");
        var hard = new double[ColourHistogram.Bins];
        foreach (var (r, g, b, w) in palette) hard[ColourHistogram.Nearest(r, g, b)] += w / total;
        return ColourHistogram.Smooth(hard);
    }

    /// <summary>Parses "#rrggbb[:weight],..." (weights non-negative, 1 when left out).</summary>
    public static IReadOnlyList<(byte R, byte G, byte B, double Weight)> Parse(string text)
    {
        var result = new List<(byte, byte, byte, double)>();
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = raw.Split(':', 2);
            var hex = parts[0].TrimStart('#');
            if (hex.Length != 6 || !int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rgb))
                throw new ArgumentException($"palette entry '{raw}': expected #rrggbb or #rrggbb:weight");
            var weight = 1.0;
            if (parts.Length == 2 && (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out weight) || weight < 0 || !double.IsFinite(weight)))
                throw new ArgumentException($"palette entry '{raw}': the weight must be a number >= 0");
            result.Add(((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb, weight));
        }
        return result;
    }
}
