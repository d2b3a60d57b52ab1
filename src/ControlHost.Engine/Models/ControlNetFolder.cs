using System.Text.Json;

namespace ControlHost.Engine.Models;

/// <summary>A ControlNet folder: model.onnx plus controlnet.json naming its condition and base family.</summary>
public sealed record ControlNetFolder(string Root, string Name, string Condition, string? Base, int? Resolution)
{
    public string ModelPath => Path.Combine(Root, "model.onnx");

    /// <summary>A union ControlNet's types in its one-hot order (controlnet.json "union_types"); null for a plain one.</summary>
    public IReadOnlyList<string>? UnionTypes { get; init; }

    public bool IsUnion => UnionTypes is not null;

    /// <summary>The union type a condition uses (xinsir's grouping: canny, lineart and lines are hard edges, scribble a soft one).</summary>
    private static readonly Dictionary<string, string> TypeOfCondition = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pose"] = "openpose", ["depth"] = "depth", ["softedge"] = "soft_edge", ["scribble"] = "soft_edge", ["canny"] = "hard_edge",
        ["lineart"] = "hard_edge", ["lines"] = "hard_edge", ["normal"] = "normal", ["seg"] = "segment", ["tile"] = "tile", ["inpaint"] = "inpaint",
    };

    /// <summary>
    /// The one-hot row of a union ControlNet for a unit: the type it names (<paramref name="unionType"/>, in ControlHost's
    /// or the extension's spelling: "hard_edge", "Hard Edge"), else the one its condition maps to.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network lacks that type: the message names the types it has.</exception>
    public float[] UnionRow(string condition, string? unionType)
    {
        var types = UnionTypes ?? throw new InvalidOperationException($"ControlNet '{Name}' is not a union ControlNet");
        static string Key(string s) => s.Replace(" ", "").Replace("_", "").ToLowerInvariant() switch { "normalmap" => "normal", "segmentation" => "segment", var k => k };
        var wanted = unionType is { Length: > 0 } && !unionType.Equals("unknown", StringComparison.OrdinalIgnoreCase) ? unionType
            : TypeOfCondition.GetValueOrDefault(condition) ?? condition;
        var index = types.Select(Key).ToList().IndexOf(Key(wanted));
        if (index < 0)
            throw new InvalidOperationException(
                $"union ControlNet '{Name}' has no control type '{wanted}' (for condition '{condition}'); it has {string.Join(", ", types)}");
        var row = new float[types.Count];
        row[index] = 1;
        return row;
    }

    /// <summary>The family "base" names, or null where it names a model (the embedded ControlNets name tiny-sd).</summary>
    public Families.ModelFamily? Family => Families.ModelFamily.Find(Base);

    public static bool LooksLikeControlNet(string dir) => File.Exists(Path.Combine(dir, "controlnet.json"));

    /// <exception cref="InvalidDataException">controlnet.json or model.onnx missing, or no condition named.</exception>
    public static ControlNetFolder Open(string dir)
    {
        var root = Path.GetFullPath(dir);
        JsonElement? config = JsonConfig.Read(Path.Combine(root, "controlnet.json"))
            ?? throw new InvalidDataException($"'{dir}' is not a ControlNet folder: controlnet.json is missing");
        if (!File.Exists(Path.Combine(root, "model.onnx")))
            throw new InvalidDataException($"'{dir}' is not a ControlNet folder: model.onnx is missing");
        var condition = config.Text("condition")
            ?? throw new InvalidDataException($"{Path.Combine(dir, "controlnet.json")}: no \"condition\" named");
        var resolution = config.Number("resolution");
        var union = config is { } c && c.TryGetProperty("union_types", out var t) && t.ValueKind == JsonValueKind.Array
            ? t.EnumerateArray().Select(e => e.GetString() ?? "").ToArray() : null;
        return new ControlNetFolder(root, Path.GetFileName(root), condition, config.Text("base"),
            resolution is { } r ? (int)r : null) { UnionTypes = union };
    }
}

/// <summary>A global-condition adapter folder: model.onnx (condition [B,K] -> context_tokens [B,T,D]) plus adapter.json.</summary>
public sealed record AdapterFolder(string Root, string Name, string Condition, string? Base)
{
    public string ModelPath => Path.Combine(Root, "model.onnx");

    public static bool LooksLikeAdapter(string dir) => File.Exists(Path.Combine(dir, "adapter.json"));

    public static AdapterFolder Open(string dir)
    {
        var root = Path.GetFullPath(dir);
        JsonElement? config = JsonConfig.Read(Path.Combine(root, "adapter.json"))
            ?? throw new InvalidDataException($"'{dir}' is not an adapter folder: adapter.json is missing");
        if (!File.Exists(Path.Combine(root, "model.onnx")))
            throw new InvalidDataException($"'{dir}' is not an adapter folder: model.onnx is missing");
        var condition = config.Text("condition")
            ?? throw new InvalidDataException($"{Path.Combine(dir, "adapter.json")}: no \"condition\" named");
        return new AdapterFolder(root, Path.GetFileName(root), condition, config.Text("base"));
    }
}
