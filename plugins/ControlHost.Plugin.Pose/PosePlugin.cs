using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Human pose for pose ControlNets. An image goes through a user-supplied OpenPose-style ONNX estimator (option estimator); an OpenPose JSON file given as the unit's image is rendered by the host and needs no model. </summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class PosePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(OpenPoseEstimator.Module, "pose", id: "pose"));
    }
}
