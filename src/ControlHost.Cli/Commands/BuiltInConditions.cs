using ControlHost.Engine.Conditioning;
using ControlHost.Preprocessors;

namespace ControlHost.Cli.Commands;

/// <summary>The condition types the host ships with, until the plugin host loads them from plugins/.</summary>
internal static class BuiltInConditions
{
    public static ConditionRegistry Create()
    {
        var registry = new ConditionRegistry();
        registry.AddConditionType(new CannyCondition());
        registry.AddConditionType(new ColourCondition());
        registry.AddConditionType(new LinesCondition());
        registry.AddConditionType(new ScribbleCondition());
        registry.AddConditionType(new IntensityCondition());
        return registry;
    }
}
