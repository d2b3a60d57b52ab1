using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Soft edges (Sobel magnitude, a classical stand-in for HED/PiDiNet) for soft-edge ControlNets</summary>
public sealed class SoftEdgePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ModuleCondition(SoftEdge.Module, "softedge", ["soft_edge", "softedge_hed", "softedge_pidinet", "hed"], "softedge"));
}
