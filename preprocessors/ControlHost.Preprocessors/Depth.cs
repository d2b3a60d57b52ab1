using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// Depth maps, near = bright, 0-255. From a user-supplied MiDaS/DPT-style ONNX model (its output is relative inverse
/// depth, larger = nearer; set far_is_bright for models that output distance), or, with no model, from a depth map
/// the user already has (any grey image), stretched to 0-255.
/// </summary>
public static class Depth
{
    public static readonly IReadOnlyList<OptionSpec> Options =
    [
        new("estimator", OptionKind.Text, "", null, null, "path of a MiDaS/DPT-style depth model (.onnx, with an optional .json beside it)"),
        new("far_is_bright", OptionKind.Boolean, "false", null, null, "the model outputs distance (larger = farther), so invert it"),
    ];

    /// <summary>With an estimator, its depth; without one, the image is taken as a depth map already (so a depth map
    /// from any tool works with no model), and the result says so.</summary>
    public static readonly IPreprocessor Module = new PreprocessorModule("depth", ["depth_midas", "depth_zoe", "depth_leres", "depth_leres++", "depth_anything"],
        "depth (near = bright) from a user-supplied MiDaS/DPT-style ONNX model (estimator=PATH.onnx), else the image is a depth map already", Options,
        (i, o) => string.IsNullOrWhiteSpace(o.Get("estimator"))
            ? new PreprocessorResult(Normalise(i, o.GetBool("far_is_bright")),
                Note: "no estimator given: the image was taken as a depth map (near = bright) and stretched to 0-255; set estimator=PATH.onnx to estimate depth")
            : new PreprocessorResult(Estimate(i, o.Get("estimator"), o.GetBool("far_is_bright"))));

    public static readonly IPreprocessor ReadyModule = PreprocessorModule.Image("depth_map", ["depth_ready", "depth_passthrough"],
        "a ready depth map (grey, near = bright unless invert) stretched to 0-255",
        [new("invert", OptionKind.Boolean, "false", null, null, "the map has far = bright")],
        (i, o) => Normalise(i, o.GetBool("invert")));

    public static RgbImage Estimate(RgbImage input, string modelPath, bool farIsBright = false)
    {
        if (string.IsNullOrWhiteSpace(modelPath))
            throw new ArgumentException("needs a depth model: --set estimator=PATH.onnx (a MiDaS/DPT-style ONNX export; input size and " +
                "normalisation in PATH.json, e.g. {\"width\": 384, \"height\": 384, \"mean\": [0.5,0.5,0.5], \"std\": [0.5,0.5,0.5]}); " +
                "a depth map you already have goes through module depth_map");
        var model = OnnxImageModel.Load(modelPath);
        var (data, shape) = model.Run(input);
        var (h, w) = (shape[^2], shape[^1]);
        if (data.Length != h * w) throw new ArgumentException($"'{modelPath}': expected one depth map, got an output of shape [{string.Join(", ", shape)}]");
        using var bytes = OnnxImageModel.NormaliseToBytes(data, h, w, input.Width, input.Height);
        if (farIsBright) Cv2.BitwiseNot(bytes, bytes);
        return MatConversions.ToRgb(bytes);
    }

    public static RgbImage Normalise(RgbImage depthMap, bool invert = false)
    {
        using var mat = MatConversions.View(depthMap);
        using var grey = new Mat();
        Cv2.CvtColor(mat, grey, ColorConversionCodes.RGB2GRAY);
        using var normalised = new Mat();
        Cv2.Normalize(grey, normalised, 0, 255, NormTypes.MinMax);
        if (invert) Cv2.BitwiseNot(normalised, normalised);
        return MatConversions.ToRgb(normalised);
    }
}
