using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Straight lines (HoughLinesP on Canny edges) for lines ControlNets, and standard line art for lineart ones</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class LinesPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(HoughLines.Module, "lines"));
        // Line art from a drawing on white, for lineart ControlNets (the extension's model-free lineart_standard).
        registry.AddConditionType(new ModuleCondition(StandardLineart.Module, "lineart"));
    }
}
