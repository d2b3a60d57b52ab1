using System.Runtime.InteropServices;

namespace ControlHost.Checkpoints.Onnx;

/// <summary>ONNX tensor element types (onnx.proto's TensorProto.DataType) that the builders use.</summary>
public enum OnnxType { Float = 1, Int32 = 6, Int64 = 7, Float16 = 10 }

/// <summary>A dimension of a graph input or output: a fixed size or a named symbolic one.</summary>
public readonly record struct Dim(long Value, string? Symbol)
{
    public static implicit operator Dim(long value) => new(value, null);
    public static implicit operator Dim(string symbol) => new(-1, symbol);
}

/// <summary>
/// A weight whose values are produced only when the graph is written: read from the checkpoint, converted,
/// transposed or LoRA-merged one tensor at a time, so a build never holds the whole model twice.
/// </summary>
/// <param name="Source">The checkpoint weight it is made from (LoRA patches are keyed by it).</param>
public sealed record Weight(string Name, long[] Shape, Func<float[]> Values, string Source)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// An ONNX graph under construction: nodes in order, float weights (written to an external-data file so that
/// multi-gigabyte models stay within protobuf's 2 GB limit and load memory-mapped), small constants inline, and
/// inputs/outputs that each declare their own symbolic dimensions.
/// </summary>
public sealed class OnnxGraph(string name)
{
    public const int Opset = 17;
    private const int IrVersion = 8;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<(ProtoWriter Value, string Name)> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private readonly List<Weight> _weights = [];
    private readonly List<ProtoWriter> _constants = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    public string Name { get; } = name;
    public IReadOnlyList<Weight> Weights => _weights;

    /// <summary>A fresh value name with a readable prefix.</summary>
    public string Fresh(string prefix) => $"{prefix}_{_counter++}";

    public string Input(string name, OnnxType type, params Dim[] dims)
    {
        _inputs.Add((ValueInfo(name, type, dims), name));
        return name;
    }

    public void Output(string value, string name, OnnxType type, params Dim[] dims)
    {
        if (value != name) Node("Identity", [value], [name]);
        _outputs.Add(ValueInfo(name, type, dims));
    }

    /// <summary>A float weight, written to the external-data file.</summary>
    public string AddWeight(string name, long[] shape, Func<float[]> values, string? source = null)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"weight '{name}' added twice");
        _weights.Add(new Weight(name, shape, values, source ?? name));
        return name;
    }

    public string ConstFloats(float[] values, params long[] shape) => Constant(OnnxType.Float, shape, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public string ConstInts(params long[] values) => Constant(OnnxType.Int64, [values.Length], MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public string ConstScalar(float value) => Constant(OnnxType.Float, [], BitConverter.GetBytes(value));

    private string Constant(OnnxType type, long[] shape, byte[] raw)
    {
        var name = Fresh("const");
        _constants.Add(Tensor(name, type, shape).Bytes(9, raw));
        return name;
    }

    /// <summary>Adds a node and returns its (first) output's name.</summary>
    public string Node(string op, string[] inputs, string[]? outputs = null, params (string Name, object Value)[] attributes) =>
        NodeIn("", op, inputs, outputs, attributes);

    /// <summary>ONNX Runtime's contributed operators (MultiHeadAttention, ...), opset 1 of their domain.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    /// <summary>Adds a node of an operator set other than the standard one.</summary>
    public string NodeIn(string domain, string op, string[] inputs, string[]? outputs = null, params (string Name, object Value)[] attributes)
    {
        outputs ??= [Fresh(op.ToLowerInvariant())];
        var node = new ProtoWriter();
        foreach (var i in inputs) node.String(1, i);
        foreach (var o in outputs) node.String(2, o);
        node.String(3, Fresh("n_" + op)).String(4, op);
        foreach (var (attrName, value) in attributes) node.Message(5, Attribute(attrName, value));
        if (domain.Length > 0)
        {
            node.String(7, domain);
            _domains.Add(domain);
        }
        _nodes.Add(node);
        return outputs[0];
    }

    private readonly HashSet<string> _domains = new(StringComparer.Ordinal);

    private static ProtoWriter Attribute(string name, object value)
    {
        var a = new ProtoWriter().String(1, name);
        return value switch
        {
            float f => a.Float(2, f).Int(20, 1),
            int i => a.Int(3, i).Int(20, 2),
            long l => a.Int(3, l).Int(20, 2),
            string s => a.String(4, s).Int(20, 3),
            long[] ints => a.PackedInts(8, ints).Int(20, 7),
            int[] ints => a.PackedInts(8, ints.Select(v => (long)v)).Int(20, 7),
            _ => throw new ArgumentException($"attribute '{name}': unsupported value {value.GetType().Name}"),
        };
    }

    private static ProtoWriter ValueInfo(string name, OnnxType type, Dim[] dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
            shape.Message(1, d.Symbol is null ? new ProtoWriter().Int(1, d.Value) : new ProtoWriter().String(2, d.Symbol));
        var tensorType = new ProtoWriter().Int(1, (int)type).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }

    private static ProtoWriter Tensor(string name, OnnxType type, long[] shape)
    {
        var t = new ProtoWriter();
        foreach (var d in shape) t.Int(1, d);
        return t.Int(2, (int)type).String(8, name);
    }

    /// <summary>
    /// Writes <paramref name="modelPath"/> and its weights beside it in <paramref name="dataFileName"/>, one weight at a
    /// time (each asked for, written and dropped). Returns the bytes of weights written.
    /// </summary>
    public long Save(string modelPath, string dataFileName, IProgress<string>? progress = null)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(modelPath))!;
        Directory.CreateDirectory(dir);
        var graph = new ProtoWriter();
        foreach (var n in _nodes) graph.Message(1, n);
        graph.String(2, Name);
        long offset = 0;
        using (var data = new FileStream(Path.Combine(dir, dataFileName), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            foreach (var w in _weights)
            {
                var values = w.Values();
                if (values.LongLength != w.Count)
                    throw new InvalidOperationException($"weight '{w.Name}': {values.LongLength} values for shape [{string.Join(",", w.Shape)}]");
                // Large weights start on a page so that ONNX Runtime can map them in place.
                var align = values.Length * 4L >= 65536 ? 4096 : 64;
                var pad = (int)((align - offset % align) % align);
                if (pad > 0) data.Write(new byte[pad]);
                offset += pad;
                var bytes = MemoryMarshal.AsBytes(values.AsSpan());
                data.Write(bytes);
                var t = Tensor(w.Name, OnnxType.Float, w.Shape)
                    .Message(13, new ProtoWriter().String(1, "location").String(2, dataFileName))
                    .Message(13, new ProtoWriter().String(1, "offset").String(2, offset.ToString()))
                    .Message(13, new ProtoWriter().String(1, "length").String(2, bytes.Length.ToString()))
                    .Int(14, 1);
                graph.Message(5, t);
                offset += bytes.Length;
                progress?.Report(w.Name);
            }
        }
        foreach (var c in _constants) graph.Message(5, c);
        foreach (var (value, _) in _inputs) graph.Message(11, value);
        foreach (var o in _outputs) graph.Message(12, o);
        var model = new ProtoWriter()
            .Int(1, IrVersion)
            .String(2, "ControlHost.Checkpoints")
            .String(3, BuilderVersion.Text)
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Int(2, Opset));
        foreach (var domain in _domains) model.Message(8, new ProtoWriter().String(1, domain).Int(2, 1));
        File.WriteAllBytes(modelPath, model.ToArray());
        return offset;
    }
}
