namespace ControlHost.Checkpoints.Onnx;

/// <summary>
/// The building blocks of the Stable Diffusion networks as plain ONNX operators (opset 17), over an
/// <see cref="IWeightSource"/>: each method takes a value name and a weight prefix and returns the output's name.
/// Weights are registered lazily: only the ones a graph uses are written, each once.
/// </summary>
public sealed class Layers(OnnxGraph graph, IWeightSource weights)
{
    /// <summary>
    /// Attention without a mask as ONNX Runtime's fused com.microsoft MultiHeadAttention (its CPU kernel never holds the
    /// whole [B,H,N,M] score matrix) instead of MatMul/Softmax/MatMul. See bench/RESULTS.md for the measurement.
    /// </summary>
    public bool FusedAttention { get; init; } = DefaultFusedAttention;

    /// <summary>The builders' default for <see cref="FusedAttention"/> (CONTROLHOST_PLAIN_ATTENTION=1 turns it off, for measuring).</summary>
    public static bool DefaultFusedAttention => Environment.GetEnvironmentVariable("CONTROLHOST_PLAIN_ATTENTION") != "1";

    private readonly Dictionary<string, string> _registered = new(StringComparer.Ordinal);

    public OnnxGraph Graph => graph;
    public IWeightSource Weights => weights;

    public bool Has(string name) => weights.Has(name);
    public long[] Shape(string name) => weights.Shape(name);

    /// <summary>A weight as stored, or reshaped to <paramref name="shape"/> (same values, same order).</summary>
    public string Param(string name, long[]? shape = null)
    {
        var key = shape is null ? name : $"{name}:{string.Join("x", shape)}";
        if (_registered.TryGetValue(key, out var existing)) return existing;
        var stored = weights.Shape(name);
        shape ??= stored;
        if (shape.Aggregate(1L, (a, b) => a * b) != stored.Aggregate(1L, (a, b) => a * b))
            throw new InvalidOperationException($"'{name}' is [{string.Join(",", stored)}], not reshapeable to [{string.Join(",", shape)}]");
        var onnxName = shape == stored ? name : $"{name}@{string.Join("x", shape)}";
        return _registered[key] = graph.AddWeight(onnxName, shape, () => weights.Read(name), name);
    }

    /// <summary>A [out, in] linear weight stored transposed ([in, out]) for MatMul.</summary>
    private string TransposedParam(string name)
    {
        var key = name + ":T";
        if (_registered.TryGetValue(key, out var existing)) return existing;
        var s = weights.Shape(name);
        if (s.Length != 2 && !(s.Length == 4 && s[2] == 1 && s[3] == 1))
            throw new CheckpointException(name, $"is [{string.Join(",", s)}]; a linear layer's [out, in] weight was expected");
        long rows = s[0], cols = s[1];
        return _registered[key] = graph.AddWeight(name + ".T", [cols, rows], () =>
        {
            var w = weights.Read(name);
            var t = new float[w.Length];
            for (long r = 0; r < rows; r++)
                for (long c = 0; c < cols; c++)
                    t[c * rows + r] = w[r * cols + c];
            return t;
        }, name);
    }

    public string Node(string op, string[] inputs, params (string, object)[] attributes) => graph.Node(op, inputs, null, attributes);

    public string Add(string a, string b) => Node("Add", [a, b]);
    public string Mul(string a, string b) => Node("Mul", [a, b]);
    public string Silu(string x) => Mul(x, Node("Sigmoid", [x]));

    /// <summary>A 2D convolution; padding keeps the size for odd kernels unless given. A [out,in] weight acts as 1x1.</summary>
    public string Conv(string x, string prefix, int stride = 1, int? padding = null)
    {
        var s = weights.Shape(prefix + ".weight");
        var w = s.Length == 2 ? Param(prefix + ".weight", [s[0], s[1], 1, 1]) : Param(prefix + ".weight");
        var k = s.Length == 2 ? 1 : (int)s[2];
        var p = padding ?? k / 2;
        var inputs = Has(prefix + ".bias") ? new[] { x, w, Param(prefix + ".bias") } : new[] { x, w };
        return Node("Conv", inputs, ("kernel_shape", new long[] { k, k }), ("strides", new long[] { stride, stride }),
            ("pads", new long[] { p, p, p, p }));
    }

    /// <summary>x @ W^T + b over the last axis.</summary>
    public string Linear(string x, string prefix) => Linear(x, prefix + ".weight", Has(prefix + ".bias") ? prefix + ".bias" : null);

    /// <summary>x @ W^T + b with the weight and bias named in full (OpenCLIP's attn.in_proj_weight / in_proj_bias).</summary>
    public string Linear(string x, string weight, string? bias)
    {
        var y = Node("MatMul", [x, TransposedParam(weight)]);
        return bias is null ? y : Add(y, Param(bias));
    }

    /// <summary>Splits the last axis into equal parts (q, k, v of a stacked projection).</summary>
    public string[] SplitLast(string x, long part, int parts)
    {
        var outputs = Enumerable.Range(0, parts).Select(_ => graph.Fresh("split")).ToArray();
        graph.Node("Split", [x, graph.ConstInts(Enumerable.Repeat(part, parts).ToArray())], outputs, ("axis", -1));
        return outputs;
    }

    /// <summary>
    /// GroupNorm over [B,C,H,W] with 32 groups: normalised per group (InstanceNormalization on [B,G,C/G*H*W]),
    /// then the per-channel scale and shift.
    /// </summary>
    public string GroupNorm(string x, string prefix, float eps, int groups = 32)
    {
        var c = weights.Shape(prefix + ".weight")[0];
        var grouped = Node("Reshape", [x, graph.ConstInts(0, groups, -1)]);
        var normed = graph.Node("InstanceNormalization",
            [grouped, graph.ConstFloats(Enumerable.Repeat(1f, groups).ToArray(), groups), graph.ConstFloats(new float[groups], groups)],
            null, ("epsilon", eps));
        var back = Node("Reshape", [normed, Node("Shape", [x])]);
        return Add(Mul(back, Param(prefix + ".weight", [c, 1, 1])), Param(prefix + ".bias", [c, 1, 1]));
    }

    public string LayerNorm(string x, string prefix, float eps = 1e-5f) =>
        graph.Node("LayerNormalization", [x, Param(prefix + ".weight"), Param(prefix + ".bias")], null, ("axis", -1), ("epsilon", eps));

    /// <summary>
    /// Multi-head scaled dot-product attention: q [B,N,C], k and v [B,M,C] -> [B,N,C]. <paramref name="mask"/> is added to
    /// the scores (the text encoder's causal mask).
    /// </summary>
    public string Attention(string q, string k, string v, int heads, long channels, string? mask = null)
    {
        if (mask is null && FusedAttention)
            return graph.NodeIn(OnnxGraph.MicrosoftDomain, "MultiHeadAttention", [q, k, v], null, ("num_heads", heads));
        var dh = channels / heads;
        var split = graph.ConstInts(0, 0, heads, dh);
        var qh = Node("Transpose", [Node("Reshape", [q, split])], ("perm", new long[] { 0, 2, 1, 3 }));
        var kh = Node("Transpose", [Node("Reshape", [k, split])], ("perm", new long[] { 0, 2, 3, 1 }));
        var vh = Node("Transpose", [Node("Reshape", [v, split])], ("perm", new long[] { 0, 2, 1, 3 }));
        var scores = Node("MatMul", [Mul(qh, graph.ConstScalar((float)(1.0 / Math.Sqrt(dh)))), kh]);
        if (mask is not null) scores = Add(scores, mask);
        var probs = Node("Softmax", [scores], ("axis", -1));
        var o = Node("Transpose", [Node("MatMul", [probs, vh])], ("perm", new long[] { 0, 2, 1, 3 }));
        return Node("Reshape", [o, graph.ConstInts(0, 0, channels)]);
    }

    /// <summary>[B,C,H,W] -> [B,H*W,C].</summary>
    public string ToTokens(string x, long channels) =>
        Node("Transpose", [Node("Reshape", [x, graph.ConstInts(0, channels, -1)])], ("perm", new long[] { 0, 2, 1 }));

    /// <summary>[B,H*W,C] -> the shape of <paramref name="like"/> ([B,C,H,W]).</summary>
    public string FromTokens(string t, string like) =>
        Node("Reshape", [Node("Transpose", [t], ("perm", new long[] { 0, 2, 1 })), Node("Shape", [like])]);

    /// <summary>Nearest-neighbour 2x enlargement, as PyTorch's F.interpolate(scale_factor=2, mode="nearest").</summary>
    public string Upsample2x(string x) =>
        graph.Node("Resize", [x, "", graph.ConstFloats([1f, 1f, 2f, 2f], 4)], null,
            ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));

    /// <summary>Exact GELU: x/2 (1 + erf(x/sqrt 2)).</summary>
    public string Gelu(string x)
    {
        var erf = Node("Erf", [Mul(x, graph.ConstScalar((float)(1 / Math.Sqrt(2))))]);
        return Mul(Mul(x, graph.ConstScalar(0.5f)), Add(erf, graph.ConstScalar(1f)));
    }

    /// <summary>CLIP's quick GELU: x sigmoid(1.702 x).</summary>
    public string QuickGelu(string x) => Mul(x, Node("Sigmoid", [Mul(x, graph.ConstScalar(1.702f))]));

    public string Unsqueeze(string x, params long[] axes) => Node("Unsqueeze", [x, graph.ConstInts(axes)]);

    /// <summary>A text encoder's causal mask [N,N]: -inf above the diagonal (a token sees itself and those before it).</summary>
    public string CausalMask(long positions)
    {
        var mask = new float[positions * positions];
        for (var i = 0; i < positions; i++)
            for (var j = i + 1; j < positions; j++) mask[i * positions + j] = float.NegativeInfinity;
        return graph.ConstFloats(mask, positions, positions);
    }

    /// <summary>
    /// Token embeddings of input_ids (cast to int64) from <paramref name="table"/>, with <paramref name="extraRows"/>
    /// zero rows after the vocabulary under <paramref name="extraName"/> (textual-inversion vectors a session fills).
    /// </summary>
    public string TokenEmbeddings(string ids64, string table, long width, int extraRows, string extraName)
    {
        var rows = Param(table);
        if (extraRows > 0)
            rows = graph.Node("Concat", [rows, graph.AddWeight(extraName, [extraRows, width], () => new float[extraRows * width])], null, ("axis", 0));
        return graph.Node("Gather", [rows, ids64], null, ("axis", 0));
    }

    /// <summary>The sinusoidal timestep features of latent diffusion: [cos(t f), sin(t f)], f_i = 10000^(-i/half).</summary>
    public string TimestepFeatures(string timestep, int dim)
    {
        var half = dim / 2;
        var freqs = new float[half];
        for (var i = 0; i < half; i++) freqs[i] = (float)Math.Exp(-Math.Log(10000) * i / half);
        var args = Mul(Unsqueeze(timestep, 1), graph.ConstFloats(freqs, 1, half));
        return graph.Node("Concat", [Node("Cos", [args]), Node("Sin", [args])], null, ("axis", 1));
    }
}
