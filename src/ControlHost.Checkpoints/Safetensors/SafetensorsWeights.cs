using ControlHost.Checkpoints.Onnx;

namespace ControlHost.Checkpoints.Safetensors;

/// <summary>
/// The weights of one or more open .safetensors files under one naming scheme: each name maps to a file's tensor,
/// optionally renamed (a diffusers folder translated to the original names) and reshaped (a linear [C,C] stored where
/// a 1x1 convolution is expected). LoRA patches, when given, are merged into a weight as it is read.
/// </summary>
public sealed class SafetensorsWeights : IWeightSource
{
    private readonly Dictionary<string, (SafetensorsFile File, TensorEntry Entry)> _map = new(StringComparer.Ordinal);
    private readonly LoraMerge? _lora;

    public SafetensorsWeights(IEnumerable<(string Name, SafetensorsFile File, TensorEntry Entry)> tensors, LoraMerge? lora = null)
    {
        foreach (var (name, file, entry) in tensors) _map[name] = (file, entry);
        _lora = lora;
    }

    /// <summary>Every tensor of a file under its own name.</summary>
    public static SafetensorsWeights Of(SafetensorsFile file, LoraMerge? lora = null) =>
        new(file.Entries.Values.Select(e => (e.Name, file, e)), lora);

    public IEnumerable<string> Names => _map.Keys;

    /// <summary>The same weights with LoRA deltas merged in as they are read.</summary>
    public SafetensorsWeights With(LoraMerge lora) => new(_map.Select(kv => (kv.Key, kv.Value.File, kv.Value.Entry)), lora);

    public bool Has(string name) => _map.ContainsKey(name);

    public long[] Shape(string name) =>
        _map.TryGetValue(name, out var t) ? t.Entry.Shape : throw Missing(name);

    public float[] Read(string name)
    {
        if (!_map.TryGetValue(name, out var t)) throw Missing(name);
        var values = new float[t.Entry.Count];
        t.File.ReadFloats(t.Entry, values);
        _lora?.Apply(name, t.Entry.Shape, values);
        return values;
    }

    private CheckpointException Missing(string name)
    {
        var file = _map.Values.FirstOrDefault().File?.Path ?? "checkpoint";
        return new CheckpointException(file, $"has no weight '{name}' that this architecture needs (the file is incomplete, or of another layout)");
    }
}
