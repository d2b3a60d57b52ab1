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
    private readonly Dictionary<string, DerivedTensor> _derived = new(StringComparer.Ordinal);
    private readonly LoraMerge? _lora;

    /// <param name="derived">Weights made from others as they are read (OpenCLIP's stacked q/k/v from Hugging Face's
    /// three projections, a transposed projection).</param>
    public SafetensorsWeights(IEnumerable<(string Name, SafetensorsFile File, TensorEntry Entry)> tensors, LoraMerge? lora = null,
        IEnumerable<DerivedTensor>? derived = null)
    {
        foreach (var (name, file, entry) in tensors) _map[name] = (file, entry);
        foreach (var d in derived ?? []) _derived[d.Name] = d;
        _lora = lora;
    }

    /// <summary>Every tensor of a file under its own name.</summary>
    public static SafetensorsWeights Of(SafetensorsFile file, LoraMerge? lora = null) =>
        new(file.Entries.Values.Select(e => (e.Name, file, e)), lora);

    public IEnumerable<string> Names => _map.Keys.Concat(_derived.Keys);

    /// <summary>The same weights with LoRA deltas merged in as they are read.</summary>
    public SafetensorsWeights With(LoraMerge lora) => new(_map.Select(kv => (kv.Key, kv.Value.File, kv.Value.Entry)), lora, _derived.Values);

    public bool Has(string name) => _map.ContainsKey(name) || _derived.ContainsKey(name);

    public long[] Shape(string name) =>
        _map.TryGetValue(name, out var t) ? t.Entry.Shape : _derived.TryGetValue(name, out var d) ? d.Shape : throw Missing(name);

    public float[] Read(string name)
    {
        float[] values;
        long[] shape;
        if (_map.TryGetValue(name, out var t))
        {
            values = new float[t.Entry.Count];
            t.File.ReadFloats(t.Entry, values);
            shape = t.Entry.Shape;
        }
        else if (_derived.TryGetValue(name, out var d)) (values, shape) = (d.Read(), d.Shape);
        else throw Missing(name);
        _lora?.Apply(name, shape, values);
        return values;
    }

    /// <summary>A file's tensor as float32 (for derived weights).</summary>
    public static float[] ReadOf(SafetensorsFile file, string name)
    {
        var entry = file.Entry(name);
        var values = new float[entry.Count];
        file.ReadFloats(entry, values);
        return values;
    }

    private CheckpointException Missing(string name)
    {
        var file = _map.Values.FirstOrDefault().File?.Path ?? "checkpoint";
        return new CheckpointException(file, $"has no weight '{name}' that this architecture needs (the file is incomplete, or of another layout)");
    }
}

/// <summary>A weight made from others when it is read, under the name the graph builders expect.</summary>
public sealed record DerivedTensor(string Name, long[] Shape, Func<float[]> Read);
