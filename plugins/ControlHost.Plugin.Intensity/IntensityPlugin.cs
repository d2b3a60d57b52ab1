using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Intensity (grayscale) for intensity ControlNets</summary>
public sealed class IntensityPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new IntensityCondition());
}

/// <summary>The intensity condition type.</summary>
public sealed class IntensityCondition : IConditionType
{
    public string Id => "intensity";
    public IReadOnlyList<string> Aliases => ["recolor_intensity", "grayscale", "greyscale"];
    public string Description => "intensity (grayscale) with selectable channel weights";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => Intensity.Options;
    public string ModelCondition => "intensity";

    public ConditionHint Preprocess(RgbImage input, OptionValues o, CancellationToken cancellation) =>
        ConditionHint.FromImage(Intensity.Run(input, o.GetDouble("red_weight"), o.GetDouble("green_weight"), o.GetDouble("blue_weight")));
}

