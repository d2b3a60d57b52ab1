using ControlHost.Engine.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Engine.Components;

/// <summary>
/// The UNet: sample [B,C,h,w], timestep, encoder_hidden_states [B,S,D] (+ residual inputs) -> out_sample [B,4,h,w].
/// </summary>
public sealed class UNetModel : IDisposable
{
    private readonly OnnxModel _model;
    private readonly TensorSpec _sample, _timestep, _context;
    private readonly string _output;

    public UNetModel(OnnxModel model, string? configPath)
    {
        _model = model;
        _sample = Find(model, "sample", 4);
        _timestep = model.Inputs.FirstOrDefault(i => i.Name == "timestep")
            ?? throw new ModelLoadException(model.Path, "no 'timestep' input");
        _context = Find(model, "encoder_hidden_states", 3);
        if (_sample.ElementType != TensorElementType.Float || _context.ElementType != TensorElementType.Float)
            throw new ModelLoadException(model.Path, "sample and encoder_hidden_states must be float32 (float16 exports are not supported yet)");
        InChannels = _sample.Dimensions[1] > 0 ? _sample.Dimensions[1] : 4;
        ContextDim = _context.Dimensions[2];
        _output = model.Outputs[0].Name;
        Residuals = ResidualLayout.FromUnet(model, configPath);
    }

    public OnnxModel Model => _model;

    /// <summary>4 for a plain UNet, 9 for an inpainting UNet.</summary>
    public int InChannels { get; }

    /// <summary>D of encoder_hidden_states when declared, else -1.</summary>
    public int ContextDim { get; }

    /// <summary>The ControlNet residual inputs, or null for a UNet without them.</summary>
    public ResidualLayout? Residuals { get; }

    private static TensorSpec Find(OnnxModel model, string name, int rank)
    {
        var spec = model.Inputs.FirstOrDefault(i => i.Name == name)
            ?? throw new ModelLoadException(model.Path, $"no '{name}' input (inputs: {string.Join(", ", model.Inputs.Select(i => i.Name))})");
        if (spec.Rank != rank) throw new ModelLoadException(model.Path, $"input '{name}' is {spec.ShapeText}; rank {rank} expected");
        return spec;
    }

    /// <summary>
    /// One UNet call over <paramref name="batch"/> entries. The caller passes slices of its own buffers; residual
    /// slices hold the same batch entries, and zeros are fed when <paramref name="residuals"/> is null. Calls over
    /// the same buffers and shapes (every step of a generation) reuse one binding, so a step allocates nothing.
    /// </summary>
    public void Run(Memory<float> sample, int batch, int height, int width, double timestep,
        Memory<float> context, int tokens, int dim, IReadOnlyList<Memory<float>>? residuals, Memory<float> output)
    {
        lock (_calls)
        {
            var inputs = sample[..(batch * InChannels * height * width)];
            var ctx = context[..(batch * tokens * dim)];
            var outSlice = output[..(batch * 4 * height * width)];
            var residualSlices = ResidualSlices(residuals, batch, height, width);
            BoundCall? call = null;
            foreach (var c in _calls)
                if (c.Matches(inputs, ctx, outSlice, residualSlices, batch, height, width, tokens, dim)) call = c;
            call ??= Bind(inputs, ctx, outSlice, residualSlices, batch, height, width, tokens, dim);
            call.Timestep.Set(timestep);
            _model.Run(call.Binding);
        }
    }

    /// <summary>The residual input slices of this call (the caller's, or zero buffers), into a reused array.</summary>
    private Memory<float>[] ResidualSlices(IReadOnlyList<Memory<float>>? residuals, int batch, int height, int width)
    {
        if (Residuals is not { } layout) return [];
        if (_slices.Length != layout.Count) _slices = new Memory<float>[layout.Count];
        for (var i = 0; i < layout.Count; i++)
        {
            var shape = layout.Shape(i, batch, height, width);
            var length = batch * shape[1] * shape[2] * shape[3];
            _slices[i] = (residuals?[i] ?? ZeroBuffer(i, length))[..length];
        }
        return _slices;
    }

    private Memory<float>[] _slices = [];
    private readonly List<BoundCall> _calls = [];
    private const int MaxBoundCalls = 4;

    private BoundCall Bind(Memory<float> sample, Memory<float> context, Memory<float> output, Memory<float>[] residuals,
        int batch, int height, int width, int tokens, int dim)
    {
        var call = new BoundCall(_model.CreateBinding(), new BoundTimestep(_timestep, batch), sample, context, output,
            residuals.ToArray(), batch, height, width, tokens, dim);
        call.Bind(_sample.Name, OrtTensors.Wrap(sample, batch, InChannels, height, width));
        call.Binding.BindInput(_timestep.Name, call.Timestep.Value);
        call.Bind(_context.Name, OrtTensors.Wrap(context, batch, tokens, dim));
        if (Residuals is { } layout)
            for (var i = 0; i < layout.Count; i++)
            {
                var shape = layout.Shape(i, batch, height, width);
                call.Bind(layout.Names[i], OrtTensors.Wrap(residuals[i], batch, shape[1], shape[2], shape[3]));
            }
        call.BindOutput(_output, OrtTensors.Wrap(output, batch, 4, height, width));
        // A few calls stay bound (both guidance halves, a new generation's buffers); the oldest is released.
        if (_calls.Count == MaxBoundCalls)
        {
            _calls[0].Dispose();
            _calls.RemoveAt(0);
        }
        _calls.Add(call);
        return call;
    }

    /// <summary>One prepared UNet call: its binding, the OrtValues it holds (pinning the buffers), and its key.</summary>
    private sealed class BoundCall(OrtIoBinding binding, BoundTimestep timestep, Memory<float> sample, Memory<float> context,
        Memory<float> output, Memory<float>[] residuals, int batch, int height, int width, int tokens, int dim) : IDisposable
    {
        private readonly List<OrtValue> _values = [];
        public OrtIoBinding Binding { get; } = binding;
        public BoundTimestep Timestep { get; } = timestep;

        public void Bind(string name, OrtValue value)
        {
            _values.Add(value);
            Binding.BindInput(name, value);
        }

        public void BindOutput(string name, OrtValue value)
        {
            _values.Add(value);
            Binding.BindOutput(name, value);
        }

        public bool Matches(Memory<float> s, Memory<float> c, Memory<float> o, Memory<float>[] r, int b, int h, int w, int t, int d)
        {
            if (b != batch || h != height || w != width || t != tokens || d != dim) return false;
            if (!s.Equals(sample) || !c.Equals(context) || !o.Equals(output) || r.Length != residuals.Length) return false;
            for (var i = 0; i < r.Length; i++)
                if (!r[i].Equals(residuals[i])) return false;
            return true;
        }

        public void Dispose()
        {
            Binding.Dispose();
            Timestep.Dispose();
            foreach (var v in _values) v.Dispose();
        }
    }

    private readonly Dictionary<int, float[]> _zeros = new();

    private float[] ZeroBuffer(int index, int length)
    {
        if (!_zeros.TryGetValue(index, out var z) || z.Length < length) _zeros[index] = z = new float[length];
        return z;
    }

    public void Dispose()
    {
        lock (_calls)
        {
            foreach (var c in _calls) c.Dispose();
            _calls.Clear();
        }
        _model.Dispose();
    }
}
