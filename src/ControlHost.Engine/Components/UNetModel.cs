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
    /// slices hold the same batch entries, and zeros are fed when <paramref name="residuals"/> is null.
    /// </summary>
    public void Run(Memory<float> sample, int batch, int height, int width, double timestep,
        Memory<float> context, int tokens, int dim, IReadOnlyList<Memory<float>>? residuals, Memory<float> output)
    {
        var names = new List<string> { _sample.Name, _timestep.Name, _context.Name };
        var values = new List<OrtValue>
        {
            OrtTensors.Wrap(sample[..(batch * InChannels * height * width)], batch, InChannels, height, width),
            OrtTensors.Timestep(_timestep, timestep, batch),
            OrtTensors.Wrap(context[..(batch * tokens * dim)], batch, tokens, dim),
        };
        using var outValue = OrtTensors.Wrap(output[..(batch * 4 * height * width)], batch, 4, height, width);
        try
        {
            if (Residuals is { } layout)
            {
                for (var i = 0; i < layout.Count; i++)
                {
                    var shape = layout.Shape(i, batch, height, width);
                    var length = batch * shape[1] * shape[2] * shape[3];
                    var buffer = residuals?[i] ?? ZeroBuffer(i, length);
                    names.Add(layout.Names[i]);
                    values.Add(OrtTensors.Wrap(buffer[..length], batch, shape[1], shape[2], shape[3]));
                }
            }
            _model.Run(names, values, [_output], [outValue]);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    private readonly Dictionary<int, float[]> _zeros = new();

    private float[] ZeroBuffer(int index, int length)
    {
        if (!_zeros.TryGetValue(index, out var z) || z.Length < length) _zeros[index] = z = new float[length];
        return z;
    }

    public void Dispose() => _model.Dispose();
}
