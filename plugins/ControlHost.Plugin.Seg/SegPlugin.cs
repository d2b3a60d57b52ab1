using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Segmentation in the ADE20K palette (user ONNX model, else k-means regions) for segmentation ControlNets</summary>
public sealed class SegPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new ModuleCondition(Segmentation.Module, "seg", ["seg_ofade20k", "seg_ufade20k", "segmentation"], "seg"));
}
