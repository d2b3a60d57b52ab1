using System.Globalization;
using ControlHost.Abstractions;

namespace ControlHost.Server.Api;

/// <summary>One slider of the extension's module_detail, made from a declared option.</summary>
public sealed record Slider(string Name, double Value, double Min, double Max, double Step);

/// <summary>
/// The ControlNet extension presents a module's settings as a resolution slider and up to two threshold sliders
/// (threshold_a, threshold_b). ControlHost declares options instead; the first two numeric options of a condition
/// type (canny: low_threshold, high_threshold) are its threshold_a and threshold_b, and every numeric option becomes
/// a slider with its declared default and range.
/// </summary>
public static class ModuleSliders
{
    public static (OptionSpec? A, OptionSpec? B) Thresholds(IConditionType type)
    {
        var numeric = type.Options.Where(IsNumeric).ToList();
        return (numeric.ElementAtOrDefault(0), numeric.ElementAtOrDefault(1));
    }

    public static IReadOnlyList<Slider> For(IReadOnlyList<OptionSpec> options, bool takesResolution)
    {
        var sliders = new List<Slider>();
        if (takesResolution) sliders.Add(new Slider("Resolution", 512, 64, 2048, 8));
        foreach (var o in options.Where(o => IsNumeric(o) && o.Name != "resolution"))
        {
            var value = double.TryParse(o.Default, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0;
            var min = o.Min ?? Math.Min(0, value);
            var max = o.Max ?? Math.Max(1, value * 4);
            sliders.Add(new Slider(o.Name, value, min, max, o.Kind == OptionKind.Integer ? 1 : Math.Max(0.001, (max - min) / 100)));
        }
        return sliders;
    }

    private static bool IsNumeric(OptionSpec o) => o.Kind is OptionKind.Integer or OptionKind.Number;
}
