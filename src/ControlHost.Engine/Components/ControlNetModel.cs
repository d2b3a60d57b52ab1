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

    /// <summary>One run over the whole batch; residuals are written into <paramref name="outputs"/>.</summary>
    public void Run(float[] sample, int batch, int channels, int height, int width, double timestep,
        float[] context, int tokens, int dim, float[] hint, int hintHeight, int hintWidth, IReadOnlyList<float[]> outputs)
    {
        var names = new List<string> { "sample", "timestep", "encoder_hidden_states", "controlnet_cond" };
        var values = new List<OrtValue>
        {
            OrtTensors.Wrap(sample.AsMemory(0, batch * channels * height * width), batch, channels, height, width),
            OrtTensors.Timestep(_timestep, timestep, batch),
            OrtTensors.Wrap(context.AsMemory(0, batch * tokens * dim), batch, tokens, dim),
            OrtTensors.Wrap(hint.AsMemory(0, batch * 3 * hintHeight * hintWidth), batch, 3, hintHeight, hintWidth),
        };
        if (_hasScale)
        {
            names.Add("conditioning_scale");
            values.Add(OrtTensors.Timestep(_model.Input("conditioning_scale"), 1.0, 1));
        }
        var outValues = new List<OrtValue>();
        try
        {
            for (var i = 0; i < Layout.Count; i++)
            {
                var s = Layout.Shape(i, batch, height, width);
                outValues.Add(OrtTensors.Wrap(outputs[i].AsMemory(0, s[0] * s[1] * s[2] * s[3]), s[0], s[1], s[2], s[3]));
            }
            _model.Run(names, values, Layout.Names.ToArray(), outValues);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
            foreach (var v in outValues) v.Dispose();
        }
    }

    public void Dispose() => _model.Dispose();
}
