using ControlHost.Engine.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace ControlHost.Engine.Components;

/// <summary>
/// A ControlNet session: sample, timestep, encoder_hidden_states, controlnet_cond [B,3,H,W] in [0,1]
/// (+ optional conditioning_scale, fed 1: the engine does the scaling) -> the UNet's residual inputs.
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
    }

    public OnnxModel Model => _model;
    public ResidualLayout Layout { get; }

    /// <summary>
    /// One run over the whole batch; residuals are written into <paramref name="outputs"/>. Runs over the same buffers
    /// and shapes (every step a unit is active) reuse one binding, so they allocate nothing.
    /// </summary>
    public void Run(float[] sample, int batch, int channels, int height, int width, double timestep,
        float[] context, int tokens, int dim, float[] hint, int hintHeight, int hintWidth, IReadOnlyList<float[]> outputs)
    {
        lock (_calls)
        {
            BoundCall? call = null;
            foreach (var c in _calls)
                if (c.Matches(sample, context, hint, outputs, batch, channels, height, width, tokens, hintHeight, hintWidth)) call = c;
            call ??= Bind(sample, batch, channels, height, width, context, tokens, dim, hint, hintHeight, hintWidth, outputs);
            call.Timestep.Set(timestep);
            _model.Run(call.Binding);
        }
    }

    private readonly List<BoundCall> _calls = [];
    private const int MaxBoundCalls = 8;

    private BoundCall Bind(float[] sample, int batch, int channels, int height, int width, float[] context, int tokens, int dim,
        float[] hint, int hintHeight, int hintWidth, IReadOnlyList<float[]> outputs)
    {
        var call = new BoundCall(_model.CreateBinding(), new BoundTimestep(_timestep, batch),
            [sample, context, hint, .. outputs], [batch, channels, height, width, tokens, hintHeight, hintWidth]);
        call.Bind("sample", OrtTensors.Wrap(sample.AsMemory(0, batch * channels * height * width), batch, channels, height, width), input: true);
        call.Binding.BindInput("timestep", call.Timestep.Value);
        call.Bind("encoder_hidden_states", OrtTensors.Wrap(context.AsMemory(0, batch * tokens * dim), batch, tokens, dim), input: true);
        call.Bind("controlnet_cond", OrtTensors.Wrap(hint.AsMemory(0, batch * 3 * hintHeight * hintWidth), batch, 3, hintHeight, hintWidth), input: true);
        // conditioning_scale is fed 1: the engine applies each unit's weight itself.
        if (_hasScale) call.Bind("conditioning_scale", OrtTensors.Timestep(_model.Input("conditioning_scale"), 1.0, 1), input: true);
        for (var i = 0; i < Layout.Count; i++)
        {
            var s = Layout.Shape(i, batch, height, width);
            call.Bind(Layout.Names[i], OrtTensors.Wrap(outputs[i].AsMemory(0, s[0] * s[1] * s[2] * s[3]), s[0], s[1], s[2], s[3]), input: false);
        }
        if (_calls.Count == MaxBoundCalls)
        {
            _calls[0].Dispose();
            _calls.RemoveAt(0);
        }
        _calls.Add(call);
        return call;
    }

    /// <summary>One prepared run: its binding, the OrtValues it holds (pinning the buffers), and the buffers and
    /// sizes it was made for.</summary>
    private sealed class BoundCall(OrtIoBinding binding, BoundTimestep timestep, float[][] buffers, int[] sizes) : IDisposable
    {
        private readonly List<OrtValue> _values = [];
        public OrtIoBinding Binding { get; } = binding;
        public BoundTimestep Timestep { get; } = timestep;

        public void Bind(string name, OrtValue value, bool input)
        {
            _values.Add(value);
            if (input) Binding.BindInput(name, value);
            else Binding.BindOutput(name, value);
        }

        public bool Matches(float[] sample, float[] context, float[] hint, IReadOnlyList<float[]> outputs, int batch, int channels,
            int height, int width, int tokens, int hintHeight, int hintWidth)
        {
            if (sizes[0] != batch || sizes[1] != channels || sizes[2] != height || sizes[3] != width || sizes[4] != tokens
                || sizes[5] != hintHeight || sizes[6] != hintWidth) return false;
            if (!ReferenceEquals(buffers[0], sample) || !ReferenceEquals(buffers[1], context) || !ReferenceEquals(buffers[2], hint)
                || buffers.Length != 3 + outputs.Count) return false;
            for (var i = 0; i < outputs.Count; i++)
                if (!ReferenceEquals(buffers[3 + i], outputs[i])) return false;
            return true;
        }

        public void Dispose()
        {
            Binding.Dispose();
            Timestep.Dispose();
            foreach (var v in _values) v.Dispose();
        }
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
