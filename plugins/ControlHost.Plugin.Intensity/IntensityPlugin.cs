using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Weighted grey (recolour) for intensity ControlNets</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class IntensityPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(Intensity.Module, "intensity"));
    }
}
