namespace ControlHost.Checkpoints.Import;

/// <summary>
/// The condition a ControlNet file serves, read from its name as published (control_v11p_sd15_canny,
/// control_sd15_depth, t2iadapter_..., diffusers' sd-controlnet-openpose): the host's condition type, or "unknown"
/// (a unit then names the model with model=).
/// </summary>
public static class ControlNetNames
{
    // Longer, more specific words first: "softedge" before "edge", "lineart" before "line".
    private static readonly (string Word, string Condition)[] Words =
    [
        ("union", "union"), ("canny", "canny"), ("depth", "depth"), ("openpose", "pose"), ("pose", "pose"), ("scribble", "scribble"),
        ("sketch", "scribble"), ("softedge", "softedge"), ("hed", "softedge"), ("pidi", "softedge"), ("mlsd", "lines"),
        ("seg", "seg"), ("tile", "tile"), ("shuffle", "shuffle"), ("inpaint", "inpaint"), ("lineart", "lineart"),
        ("normal", "normal"), ("ip2p", "ip2p"),
    ];

    public static string ConditionOf(string fileStem)
    {
        var lower = fileStem.ToLowerInvariant();
        foreach (var (word, condition) in Words)
            if (lower.Contains(word, StringComparison.Ordinal)) return condition;
        return "unknown";
    }
}

/// <summary>
/// The control types of a union ControlNet, in the order of its task_embedding rows: xinsir's controlnet-union-sdxl-1.0
/// has the first six, its ProMax version all eight (from xinsir's model card and diffusers' ControlNetUnionModel).
/// </summary>
public static class UnionTypes
{
    private static readonly string[] Order = ["openpose", "depth", "soft_edge", "hard_edge", "normal", "segment", "tile", "inpaint"];

    public static IReadOnlyList<string> Of(int count) =>
        Enumerable.Range(0, count).Select(i => i < Order.Length ? Order[i] : $"type_{i}").ToArray();
}
