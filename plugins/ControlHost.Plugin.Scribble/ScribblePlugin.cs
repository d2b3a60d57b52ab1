using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Scribble by XDoG for scribble ControlNets</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class ScribblePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(Scribble.Module, "scribble"));
    }
}
