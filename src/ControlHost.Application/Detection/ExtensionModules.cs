using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;
using ControlHost.Preprocessors;

namespace ControlHost.Application.Detection;

/// <summary>One of sd-webui-controlnet's preprocessors: its internal name, its UI label, its control-type tag, and the
/// condition a ControlNet for it declares.</summary>
public sealed record ExtensionModule(string Name, string Label, string Tag, string Condition);

/// <summary>
/// The extension's preprocessor names (facts from Mikubill/sd-webui-controlnet's preprocessor table: internal names,
/// labels, control-type tags), so that module_list and control_types list every name its clients look for. A name
/// a ControlHost module answers to runs that module; a name that needs a neural estimator ControlHost does not ship
/// runs a user's ONNX export of it from an <c>annotators/</c> folder under a model root, or says where it goes.
/// </summary>
public static class ExtensionModules
{
    public static IReadOnlyList<ExtensionModule> All { get; } =
    [
        new("canny", "canny", "Canny", "canny"),
        new("depth", "depth_midas", "Depth", "depth"), new("depth_leres", "depth_leres", "Depth", "depth"),
        new("depth_leres++", "depth_leres++", "Depth", "depth"), new("depth_zoe", "depth_zoe", "Depth", "depth"),
        new("depth_anything", "depth_anything", "Depth", "depth"), new("depth_hand_refiner", "depth_hand_refiner", "Depth", "depth"),
        new("normal_map", "normal_midas", "NormalMap", "normal"), new("normal_bae", "normal_bae", "NormalMap", "normal"),
        new("openpose", "openpose", "OpenPose", "pose"), new("openpose_face", "openpose_face", "OpenPose", "pose"),
        new("openpose_faceonly", "openpose_faceonly", "OpenPose", "pose"), new("openpose_full", "openpose_full", "OpenPose", "pose"),
        new("openpose_hand", "openpose_hand", "OpenPose", "pose"), new("dw_openpose_full", "dw_openpose_full", "OpenPose", "pose"),
        new("animal_openpose", "animal_openpose", "OpenPose", "pose"), new("densepose", "densepose (pruple bg & purple torso)", "OpenPose", "pose"),
        new("mlsd", "mlsd", "MLSD", "lines"),
        new("lineart", "lineart_realistic", "Lineart", "lineart"), new("lineart_coarse", "lineart_coarse", "Lineart", "lineart"),
        new("lineart_anime", "lineart_anime", "Lineart", "lineart"), new("lineart_anime_denoise", "lineart_anime_denoise", "Lineart", "lineart"),
        new("lineart_standard", "lineart_standard (from white bg & black line)", "Lineart", "lineart"),
        new("hed", "softedge_hed", "SoftEdge", "softedge"), new("hed_safe", "softedge_hedsafe", "SoftEdge", "softedge"),
        new("pidinet", "softedge_pidinet", "SoftEdge", "softedge"), new("pidinet_safe", "softedge_pidisafe", "SoftEdge", "softedge"),
        new("te_hed", "softedge_teed", "SoftEdge", "softedge"),
        new("scribble_hed", "scribble_hed", "Scribble", "scribble"), new("pidinet_scribble", "scribble_pidinet", "Scribble", "scribble"),
        new("scribble_xdog", "scribble_xdog", "Scribble", "scribble"),
        new("segmentation", "seg_ufade20k", "Segmentation", "seg"), new("oneformer_ade20k", "seg_ofade20k", "Segmentation", "seg"),
        new("oneformer_coco", "seg_ofcoco", "Segmentation", "seg"), new("anime_face_segment", "seg_anime_face", "Segmentation", "seg"),
        new("shuffle", "shuffle", "Shuffle", "shuffle"),
        new("tile_resample", "tile_resample", "Tile", "tile"), new("tile_colorfix", "tile_colorfix", "Tile", "tile"),
        new("tile_colorfix+sharp", "tile_colorfix+sharp", "Tile", "tile"), new("blur_gaussian", "blur_gaussian", "Tile", "tile"),
        new("inpaint", "inpaint_global_harmonious", "Inpaint", "inpaint"), new("inpaint_only", "inpaint_only", "Inpaint", "inpaint"),
        new("inpaint_only+lama", "inpaint_only+lama", "Inpaint", "inpaint"),
        new("recolor_luminance", "recolor_luminance", "Recolor", "intensity"), new("recolor_intensity", "recolor_intensity", "Recolor", "intensity"),
        new("color", "t2ia_color_grid", "T2I-Adapter", "color"),
        new("mediapipe_face", "mediapipe_face", "MediaPipeFace", "mediapipe_face"),
    ];

    /// <summary>The extension's module by internal name or label.</summary>
    public static ExtensionModule? Find(string name) => All.FirstOrDefault(m =>
        string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase) || string.Equals(m.Label, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The ONNX file a module without a ControlHost implementation runs from: annotators/LABEL.onnx.</summary>
    public static string FileName(ExtensionModule m) => m.Label.Split(' ')[0] + ".onnx";

    /// <summary>The module by the name, as a condition type: the registry's, else a user's annotator file under a model
    /// root; null when neither (<see cref="Missing"/> says what it needs when it is the extension's).</summary>
    public static IConditionType? Resolve(ConditionRegistry registry, IEnumerable<string> roots, string name)
    {
        if (registry.Find(name) is { } type) return type;
        if (Find(name) is not { } m) return null;
        if ((registry.Find(m.Name) ?? registry.Find(m.Label)) is { } known) return known;
        var file = roots.Select(r => Path.Combine(r, "annotators", FileName(m))).FirstOrDefault(File.Exists);
        if (file is null) return null;
        var module = OnnxAnnotator.Module(m.Label.Split(' ')[0], [m.Name], $"{m.Label} from {Path.GetFileName(file)} (a user's ONNX estimator)", file);
        return new ModuleCondition(module, m.Condition);
    }

    /// <summary>Why an extension module cannot run here, and the fix; null when the name is not the extension's.</summary>
    public static string? Missing(string name, IEnumerable<string> roots)
    {
        if (Find(name) is not { } m) return null;
        var folders = string.Join(", ", roots.Select(r => Path.GetFileName(r.TrimEnd('/')) + "/annotators").DefaultIfEmpty("annotators"));
        return $"module '{name}' needs the {m.Label.Split(' ')[0]} estimator, a neural network ControlHost does not ship: export it to ONNX " +
               $"(one image input [1,3,H,W], one map output) as {FileName(m)} in an annotators/ folder under a model root ({folders})";
    }
}
