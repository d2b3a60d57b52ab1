using System.Text.Json;

namespace ControlHost.Engine.Models;

/// <summary>A ControlNet folder: model.onnx plus controlnet.json naming its condition and base family.</summary>
public sealed record ControlNetFolder(string Root, string Name, string Condition, string? Base, int? Resolution)
{
    public string ModelPath => Path.Combine(Root, "model.onnx");

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
        return new ControlNetFolder(root, Path.GetFileName(root), condition, config.Text("base"),
            resolution is { } r ? (int)r : null);
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
