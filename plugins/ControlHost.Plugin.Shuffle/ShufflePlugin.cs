using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Content shuffle (seeded random flow) for shuffle ControlNets</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class ShufflePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(Shuffle.Module, "shuffle"));
    }
}
