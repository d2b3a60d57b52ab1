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

    /// <summary>The extension's resolution slider: its default and range.</summary>
    public const int DefaultResolution = 512, MinResolution = 64, MaxResolution = 2048;

    /// <summary>
    /// The extension's slider values (processor_res, threshold_a, threshold_b; -1 for "not given") onto a module's
    /// options, as units and /controlnet/detect both take them. A value out of its slider's range falls back to the
    /// slider's default with a warning in the extension's words ("[canny.processor_res] Invalid value(-100), using
    /// default value 512."). Returns the processor resolution: 0 for none given (pixel perfect in a unit).
    /// </summary>
    public static int Apply(IConditionType? type, string module, double resolution, double a, double b, Dictionary<string, string> options, List<string> warnings)
    {
        var result = 0;
        if (resolution != -1)
        {
            if (resolution >= MinResolution && resolution <= MaxResolution) result = (int)resolution;
            else
            {
                warnings.Add(Invalid(module, "processor_res", resolution, DefaultResolution));
                result = DefaultResolution;
            }
        }
        if (type is null) return result;
        var (sa, sb) = Thresholds(type);
        foreach (var (value, slider, key) in new[] { (a, sa, "threshold_a"), (b, sb, "threshold_b") })
        {
            if (value == -1 || slider is null) continue; // the extension ignores a threshold the module has no slider for
            if (value >= (slider.Min ?? double.MinValue) && value <= (slider.Max ?? double.MaxValue))
                options[slider.Name] = value.ToString(CultureInfo.InvariantCulture);
            else warnings.Add(Invalid(module, key, value, slider.Default));
        }
        return result;
    }

    private static string Invalid(string module, string key, double value, object? fallback) =>
        string.Create(CultureInfo.InvariantCulture, $"[{module}.{key}] Invalid value({value}), using default value {fallback}.");

    private static bool IsNumeric(OptionSpec o) => o.Kind is OptionKind.Integer or OptionKind.Number;
}
