using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// Human pose from an image with a user-supplied OpenPose-style ONNX body model (COCO 18 keypoints: 19 heatmaps with
/// the background last, 38 part-affinity-field channels, as CMU's body model outputs them, in one tensor of 57
/// channels or two). Returns the rendered OpenPose map and the keypoints as OpenPose JSON.
/// </summary>
public static class OpenPoseEstimator
{
    public const string NeedsModel = "needs a pose model: --set estimator=PATH.onnx (an OpenPose-style COCO body model: 19 heatmaps + 38 " +
        "part affinity fields; input size and normalisation in PATH.json). A pose you already have as OpenPose JSON " +
        "renders without a model: pass the .json file as the unit's image";

    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("estimator", OptionKind.Text, "", null, null, "path of an OpenPose-style body model (.onnx, optional .json beside it)"),
        new("threshold", OptionKind.Number, "0.1", 0.01, 1, "smallest heatmap peak kept as a keypoint"),
    ];

    public static readonly IPreprocessor Module = new PreprocessorModule("openpose", ["openpose", "openpose_full", "openpose_body", "dw_openpose_full"],
        "human pose (OpenPose 18 keypoints) from a user-supplied OpenPose-style ONNX model; map + JSON", Options,
        (i, o) =>
        {
            if (string.IsNullOrWhiteSpace(o.Get("estimator"))) throw new ArgumentException(NeedsModel);
            var pose = Estimate(i, o.Get("estimator"), o.GetDouble("threshold"));
            return new PreprocessorResult(OpenPose.Render(pose, i.Width, i.Height), Json: OpenPose.ToJson(pose));
        });

    public static PoseDocument Estimate(RgbImage input, string modelPath, double threshold = 0.1)
    {
        var model = OnnxImageModel.Load(modelPath);
        var (data, shape) = model.Run(input);
        if (shape.Length != 4 || shape[1] != 57)
            throw new ArgumentException($"'{modelPath}': expected one output of 57 channels (19 heatmaps + 38 fields), got [{string.Join(", ", shape)}]");
        return PoseDecoder.Decode(data, shape[2], shape[3], input.Width, input.Height, threshold);
    }
}
