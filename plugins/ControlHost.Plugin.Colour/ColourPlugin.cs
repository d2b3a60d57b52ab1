using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Composer colour histogram (180 CIELab colours) for the colour adapter</summary>
public sealed class ColourPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ColourCondition());
}

/// <summary>The colour condition type: a global condition fed to the colour adapter.</summary>
public sealed class ColourCondition : IConditionType
{
    public string Id => "colour";
    // Not "color": sd-webui-controlnet uses that name for the T2I colour grid (the colour_grid plugin).
    public IReadOnlyList<string> Aliases => ["colour_histogram", "color_histogram", "composer_colour"];
    public string Description => "Composer colour histogram (180 CIELab colours, smoothed) -> the colour adapter's context tokens";
    public ConditionKind Kind => ConditionKind.Global;
    public IReadOnlyList<OptionSpec> Options => [];
    public string ModelCondition => "colour";

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) =>
        ConditionHint.FromVector(ColourHistogram.Compute(input));
}

