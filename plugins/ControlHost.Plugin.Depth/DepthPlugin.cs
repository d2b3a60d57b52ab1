using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>Depth for depth ControlNets</summary>
public sealed class DepthPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new DepthCondition());
}

/// <summary>
/// With option estimator: a MiDaS/DPT-style ONNX model. Without: the image is taken as a depth map already (grey,
/// near = bright) and stretched to 0-255, so a depth map from any tool works with no model.
/// </summary>
public sealed class DepthCondition : IConditionType
{
    public string Id => "depth";
    public IReadOnlyList<string> Aliases => ["depth_midas", "depth_zoe", "depth_leres", "depth_map"];
    public string Description => "depth, near = bright: a user-supplied ONNX estimator (estimator=PATH.onnx), else the image is a depth map already";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => Depth.Options;
    public string ModelCondition => "depth";

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) =>
        ConditionHint.FromImage(string.IsNullOrWhiteSpace(options.Get("estimator"))
            ? Depth.Normalise(input, options.GetBool("far_is_bright"))
            : Depth.Estimate(input, options.Get("estimator"), options.GetBool("far_is_bright")));
}
