using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Tile resample and the tile colour fix modules, for tile ControlNets</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class TilePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(TileResample.Module, "tile"));
        registry.AddConditionType(new ModuleCondition(TileColourFix.Module, "tile"));
        registry.AddConditionType(new ModuleCondition(TileColourFix.SharpModule, "tile"));
    }
}
