using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Line segments by OpenCV LSD (the mlsd module), bound to line ControlNets</summary>
public sealed class LsdPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ModuleCondition(LineSegments.Module, "lsd", ["mlsd", "line_segments"], "lines"));
}
