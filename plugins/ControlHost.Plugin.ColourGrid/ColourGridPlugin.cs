using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>T2I colour grid (mean colour per 64 px cell) for colour-grid adapters and ControlNets</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class ColourGridPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(ColourGrid.Module, "color"));
    }
}
