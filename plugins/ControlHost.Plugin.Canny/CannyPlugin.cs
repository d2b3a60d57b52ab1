using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Canny edges (OpenCV Canny on the colour image, 100/200) for Canny ControlNets</summary>
public sealed class CannyPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new CannyCondition());
}

/// <summary>The canny condition type.</summary>
public sealed class CannyCondition : IConditionType
{
    public string Id => "canny";
    public IReadOnlyList<string> Aliases => ["canny_edges"];
    public string Description => "Canny edges (OpenCV, on the colour image)";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => Canny.Options;
    public string ModelCondition => "canny";

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) =>
        ConditionHint.FromImage(Canny.Run(input, options.GetInt("low_threshold"), options.GetInt("high_threshold")));
}

