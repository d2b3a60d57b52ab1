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
    private readonly TensorSpec _output;

    public UNetModel(OnnxModel model, string? configPath)
    {
        _model = model;
        _sample = Find(model, "sample", 4);
        _timestep = model.Inputs.FirstOrDefault(i => i.Name == "timestep")
            ?? throw new ModelLoadException(model.Path, "no 'timestep' input");
        _context = Find(model, "encoder_hidden_states", 3);
        OrtTensors.Require(_sample, model.Path);
        OrtTensors.Require(_context, model.Path);
        OrtTensors.Require(model.Outputs[0], model.Path);
        InChannels = _sample.Dimensions[1] > 0 ? _sample.Dimensions[1] : 4;
        ContextDim = _context.Dimensions[2];
        _output = model.Outputs[0];
        Residuals = ResidualLayout.FromUnet(model, configPath);
        _extras = OrtTensors.RowInputs(model, "text_embeds", "time_ids");
    }

    /// <summary>The family's further inputs this UNet takes (SDXL: text_embeds, time_ids).</summary>
    private readonly TensorSpec[] _extras;

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
    /// <param name="extras">The family's further inputs by name, as [B,N] buffers of the same batch entries (SDXL:
    /// text_embeds, time_ids); each one the UNet takes must be there.</param>
    public void Run(Memory<float> sample, int batch, int height, int width, double timestep,
        Memory<float> context, int tokens, int dim, IReadOnlyList<Memory<float>>? residuals, Memory<float> output,
        IReadOnlyDictionary<string, Memory<float>>? extras = null)
    {
        lock (_runs)
        {
            var slices = ResidualSlices(residuals, batch, height, width);
            if (_extras.Length > 0) slices = WithExtras(slices, extras, batch);
            var key = new RunKey(sample[..(batch * InChannels * height * width)], context[..(batch * tokens * dim)],
                output[..(batch * 4 * height * width)], slices, batch, height, width, tokens, dim);
            var run = _runs.Find(key) ?? _runs.Add(Bind(key));
            run.Run(_model, timestep);
            _entriesRun += batch;
        }
    }

    private long _entriesRun;

    /// <summary>Batch entries run so far (a guidance step runs 2, a step without guidance 1).</summary>
    public long EntriesRun => Interlocked.Read(ref _entriesRun);

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

    private Memory<float>[] _slices = [], _withExtras = [];

    /// <summary>The residual slices followed by the extra inputs' (into a reused array, so a step allocates nothing).</summary>
    private Memory<float>[] WithExtras(Memory<float>[] residuals, IReadOnlyDictionary<string, Memory<float>>? extras, int batch)
    {
        if (_withExtras.Length != residuals.Length + _extras.Length) _withExtras = new Memory<float>[residuals.Length + _extras.Length];
        residuals.CopyTo(_withExtras, 0);
        for (var e = 0; e < _extras.Length; e++)
        {
            var spec = _extras[e];
            if (extras is null || !extras.TryGetValue(spec.Name, out var buffer))
                throw new ArgumentException($"{_model.Path}: the UNet takes '{spec.Name}' [B,{spec.Dimensions[1]}] and none was given (a model of another family?)");
            _withExtras[residuals.Length + e] = buffer[..(batch * spec.Dimensions[1])];
        }
        return _withExtras;
    }
    private readonly BoundRuns<RunKey> _runs = new(4);

    private BoundRun<RunKey> Bind(RunKey probe)
    {
        // The probe's residual array is reused from call to call: the stored key keeps its own copy.
        var key = probe with { Residuals = probe.Residuals.ToArray() };
        var run = new BoundRun<RunKey>(_model, key, _timestep, key.Batch);
        run.Input(_sample, key.Sample, key.Batch, InChannels, key.Height, key.Width);
        run.Input(_context, key.Context, key.Batch, key.Tokens, key.Dim);
        var count = Residuals?.Count ?? 0;
        if (Residuals is { } layout)
            for (var i = 0; i < layout.Count; i++)
            {
                var shape = layout.Shape(i, key.Batch, key.Height, key.Width);
                run.Input(_model.Input(layout.Names[i]), key.Residuals[i], key.Batch, shape[1], shape[2], shape[3]);
            }
        // The extra inputs' buffers follow the residuals' in the key.
        for (var e = 0; e < _extras.Length; e++) run.Input(_extras[e], key.Residuals[count + e], key.Batch, _extras[e].Dimensions[1]);
        run.Output(_output, key.Output, key.Batch, 4, key.Height, key.Width);
        return run;
    }

    /// <summary>The buffers and shapes a bound run was made for; residual (and extra input) slices compared one by one.</summary>
    private readonly record struct RunKey(Memory<float> Sample, Memory<float> Context, Memory<float> Output, Memory<float>[] Residuals,
        int Batch, int Height, int Width, int Tokens, int Dim)
    {
        public bool Equals(RunKey other)
        {
            if (Batch != other.Batch || Height != other.Height || Width != other.Width || Tokens != other.Tokens || Dim != other.Dim
                || !Sample.Equals(other.Sample) || !Context.Equals(other.Context) || !Output.Equals(other.Output)
                || Residuals.Length != other.Residuals.Length) return false;
            for (var i = 0; i < Residuals.Length; i++)
                if (!Residuals[i].Equals(other.Residuals[i])) return false;
            return true;
        }

        public override int GetHashCode() => HashCode.Combine(Batch, Height, Width, Tokens, Sample.Length);
    }

    private readonly Dictionary<int, float[]> _zeros = new();

    private float[] ZeroBuffer(int index, int length)
    {
        if (!_zeros.TryGetValue(index, out var z) || z.Length < length) _zeros[index] = z = new float[length];
        return z;
    }

    public void Dispose()
    {
        lock (_runs) _runs.Dispose();
        _model.Dispose();
    }
}
