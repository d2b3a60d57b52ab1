using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Straight lines (HoughLinesP on Canny edges) for line ControlNets</summary>
public sealed class LinesPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new LinesCondition());
}

/// <summary>The lines condition type.</summary>
public sealed class LinesCondition : IConditionType
{
    public string Id => "lines";
    public IReadOnlyList<string> Aliases => ["hough", "straight_lines"];
    public string Description => "straight lines: HoughLinesP on Canny edges, white on black";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => HoughLines.Options;
    public string ModelCondition => "lines";

    public ConditionHint Preprocess(RgbImage input, OptionValues o, CancellationToken cancellation) =>
        ConditionHint.FromImage(HoughLines.Run(input, o.GetInt("threshold"), o.GetDouble("min_length"), o.GetDouble("max_gap"),
            o.GetDouble("rho"), o.GetDouble("theta_degrees")));
}

