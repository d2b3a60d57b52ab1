using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Content shuffle (seeded random flow) for shuffle ControlNets</summary>
public sealed class ShufflePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ModuleCondition(Shuffle.Module, "shuffle", ["content_shuffle"], "shuffle"));
}
