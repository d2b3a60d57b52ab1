using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Line segments by OpenCV LSD (the mlsd module), bound to line ControlNets</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class LsdPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(LineSegments.Module, "lines"));
    }
}
