using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Scribble/sketch strokes (XDoG) for scribble ControlNets</summary>
public sealed class ScribblePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ScribbleCondition());
}

/// <summary>The scribble condition type.</summary>
public sealed class ScribbleCondition : IConditionType
{
    public string Id => "scribble";
    public IReadOnlyList<string> Aliases => ["scribble_xdog", "sketch"];
    public string Description => "scribble/sketch strokes by XDoG, white on black";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => Scribble.Options;
    public string ModelCondition => "scribble";

    public ConditionHint Preprocess(RgbImage input, OptionValues o, CancellationToken cancellation) =>
        ConditionHint.FromImage(Scribble.Run(input, o.GetDouble("threshold"), o.GetDouble("sigma_small"), o.GetDouble("sigma_large")));
}

