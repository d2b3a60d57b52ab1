using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Tile resample for tile ControlNets</summary>
public sealed class TilePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ModuleCondition(TileResample.Module, "tile", ["tile_resample"], "tile"));
}
