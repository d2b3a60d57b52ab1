using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Depth for depth ControlNets: with option estimator, a MiDaS/DPT-style ONNX model; without, the image is taken as a depth map already (the hint's note says so). depth_map takes a ready map with an invert option; normal_from_depth makes a normal map from one</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class DepthPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(Depth.Module, "depth"));
        registry.AddConditionType(new ModuleCondition(Depth.ReadyModule, "depth"));
        // A normal map from the same kind of ready depth map, for normal ControlNets.
        registry.AddConditionType(new ModuleCondition(NormalFromDepth.Module, "normal"));
    }
}
