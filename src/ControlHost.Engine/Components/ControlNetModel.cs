using ControlHost.Engine.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace ControlHost.Engine.Components;

/// <summary>
/// A ControlNet session: sample, timestep, encoder_hidden_states, controlnet_cond [B,3,H,W] in [0,1]
/// (+ optional conditioning_scale, fed 1: the engine does the scaling; + the family's extra inputs, SDXL's text_embeds
/// and time_ids) -> the UNet's residual inputs.
/// </summary>
public sealed class ControlNetModel : IDisposable
{
    private readonly OnnxModel _model;
    private readonly TensorSpec _timestep;
    private readonly bool _hasScale;

    /// <exception cref="ModelLoadException">Inputs missing, or outputs that do not match the UNet's residual inputs.</exception>
    public ControlNetModel(OnnxModel model, ResidualLayout unetLayout)
    {
        _model = model;
        foreach (var name in new[] { "sample", "timestep", "encoder_hidden_states", "controlnet_cond" })
            if (!model.HasInput(name))
                throw new ModelLoadException(model.Path, $"no '{name}' input; a ControlNet takes sample, timestep, encoder_hidden_states and controlnet_cond");
        _timestep = model.Input("timestep");
        _hasScale = model.HasInput("conditioning_scale");
        var outputs = model.Outputs.ToDictionary(o => o.Name);
        if (outputs.Count != unetLayout.Count)
            throw new ModelLoadException(model.Path, $"has {outputs.Count} residual outputs but the UNet takes {unetLayout.Count}; it was made for another UNet");
        for (var i = 0; i < unetLayout.Count; i++)
        {
            if (!outputs.TryGetValue(unetLayout.Names[i], out var spec))
                throw new ModelLoadException(model.Path, $"no output '{unetLayout.Names[i]}' that the UNet takes");
            if (spec.Rank != 4 || (spec.Dimensions[1] > 0 && spec.Dimensions[1] != unetLayout.Channels[i]))
                throw new ModelLoadException(model.Path,
                    $"output '{spec.Name}' is {spec.ShapeText} but the UNet's input has {unetLayout.Channels[i]} channels; it was made for another UNet");
        }
        Layout = unetLayout;
        foreach (var name in new[] { "sample", "encoder_hidden_states", "controlnet_cond" }) OrtTensors.Require(model.Input(name), model.Path);
        _outputs = unetLayout.Names.Select(n => outputs[n]).ToArray();
        foreach (var o in _outputs) OrtTensors.Require(o, model.Path);
        _extras = OrtTensors.RowInputs(model, "text_embeds", "time_ids", UnionControlType);
        _extraArrays = new float[_extras.Length][];
    }

    /// <summary>This call's extra input buffers, into a reused array (a step allocates nothing); a bound run keeps a copy.</summary>
    private readonly float[][] _extraArrays;

    private readonly TensorSpec[] _outputs;
    private readonly TensorSpec[] _extras;

    /// <summary>A union ControlNet's input: the one-hot control type per entry [B,N].</summary>
    public const string UnionControlType = "control_type";

    /// <summary>Whether this is a union ControlNet (it takes a control type per run).</summary>
    public bool IsUnion => _extras.Any(e => e.Name == UnionControlType);

    public OnnxModel Model => _model;
    public ResidualLayout Layout { get; }

    /// <summary>
    /// One run over the whole batch; residuals are written into <paramref name="outputs"/>. Runs over the same buffers
    /// and shapes (every step a unit is active) reuse one binding, so they allocate nothing.
    /// </summary>
    /// <param name="extras">The family's further inputs by name ([B,N] of the same batch entries); each one the
    /// ControlNet takes must be there (an SDXL ControlNet needs text_embeds and time_ids).</param>
    public void Run(float[] sample, int batch, int channels, int height, int width, double timestep,
        float[] context, int tokens, int dim, float[] hint, int hintHeight, int hintWidth, IReadOnlyList<float[]> outputs,
        IReadOnlyDictionary<string, Abstractions.FloatTensor>? extras = null)
    {
        lock (_runs)
        {
            for (var e = 0; e < _extras.Length; e++)
                _extraArrays[e] = extras is not null && extras.TryGetValue(_extras[e].Name, out var t) ? t.Data
                    : throw new ArgumentException($"{_model.Path}: the ControlNet takes '{_extras[e].Name}' [B,{_extras[e].Dimensions[1]}] and none was given (a ControlNet of another family?)");
            var key = new RunKey(sample, context, hint, outputs, _extraArrays, batch, channels, height, width, tokens, dim, hintHeight, hintWidth);
            var run = _runs.Find(key) ?? _runs.Add(Bind(key));
            run.Run(_model, timestep);
        }
    }

    private readonly BoundRuns<RunKey> _runs = new(8);

    private BoundRun<RunKey> Bind(RunKey probe)
    {
        var key = probe with { Extras = probe.Extras.ToArray() }; // the probe's array is reused from call to call
        var (batch, height, width) = (key.Batch, key.Height, key.Width);
        var run = new BoundRun<RunKey>(_model, key, _timestep, batch);
        run.Input(_model.Input("sample"), key.Sample.AsMemory(0, batch * key.Channels * height * width), batch, key.Channels, height, width);
        run.Input(_model.Input("encoder_hidden_states"), key.Context.AsMemory(0, batch * key.Tokens * key.Dim), batch, key.Tokens, key.Dim);
        run.Input(_model.Input("controlnet_cond"), key.Hint.AsMemory(0, batch * 3 * key.HintHeight * key.HintWidth), batch, 3, key.HintHeight, key.HintWidth);
        if (_hasScale)
        {
            // conditioning_scale is fed 1: the engine applies each unit's weight itself.
            var scale = new BoundTimestep(_model.Input("conditioning_scale"), 1);
            scale.Set(1.0);
            run.Input("conditioning_scale", scale.Value);
        }
        for (var e = 0; e < _extras.Length; e++) run.Input(_extras[e], key.Extras[e].AsMemory(0, batch * _extras[e].Dimensions[1]), batch, _extras[e].Dimensions[1]);
        for (var i = 0; i < Layout.Count; i++)
        {
            var s = Layout.Shape(i, batch, height, width);
            run.Output(_outputs[i], key.Outputs[i].AsMemory(0, s[0] * s[1] * s[2] * s[3]), s[0], s[1], s[2], s[3]);
        }
        return run;
    }

    /// <summary>The buffers (by reference) and sizes a bound run was made for.</summary>
    private readonly record struct RunKey(float[] Sample, float[] Context, float[] Hint, IReadOnlyList<float[]> Outputs, float[][] Extras,
        int Batch, int Channels, int Height, int Width, int Tokens, int Dim, int HintHeight, int HintWidth)
    {
        public bool Equals(RunKey other)
        {
            if (Batch != other.Batch || Channels != other.Channels || Height != other.Height || Width != other.Width
                || Tokens != other.Tokens || Dim != other.Dim || HintHeight != other.HintHeight || HintWidth != other.HintWidth
                || !ReferenceEquals(Sample, other.Sample) || !ReferenceEquals(Context, other.Context) || !ReferenceEquals(Hint, other.Hint)
                || Outputs.Count != other.Outputs.Count || Extras.Length != other.Extras.Length) return false;
            for (var i = 0; i < Outputs.Count; i++)
                if (!ReferenceEquals(Outputs[i], other.Outputs[i])) return false;
            for (var i = 0; i < Extras.Length; i++)
                if (!ReferenceEquals(Extras[i], other.Extras[i])) return false;
            return true;
        }

        public override int GetHashCode() => HashCode.Combine(Batch, Height, Width, Tokens, Sample.Length);
    }

    public void Dispose()
    {
        lock (_runs) _runs.Dispose();
        _model.Dispose();
    }
}
