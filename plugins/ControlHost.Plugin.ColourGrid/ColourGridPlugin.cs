using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>T2I colour grid (mean colour per 64 px cell) for colour-grid adapters and ControlNets</summary>
public sealed class ColourGridPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ModuleCondition(ColourGrid.Module, "colour_grid", ["color", "t2ia_color_grid", "color_grid"], "color"));
}
