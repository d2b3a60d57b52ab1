using System.Diagnostics;
using ControlHost.Engine.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Bench.Results;

/// <summary>
/// The floor: the same ONNX files called bare through ONNX Runtime in a loop (one session each, the engine's session
/// options, inputs and outputs bound once), with nothing of the engine around them. A guidance step is one UNet run
/// at batch 2 plus one run at batch 2 per ControlNet.
/// </summary>
internal sealed class Floors(int latent = 16, int hint = 128) : IDisposable
{
    private readonly SessionOptions _options = ExecutionDevice.Resolve(DeviceChoice.Cpu, BenchSetup.Threads).CreateOptions();
    private readonly List<IDisposable> _owned = [];
    public const int Batch = 2, Tokens = 77;
    private readonly int Latent = latent, Hint = hint;

    /// <summary>ms per bare run of a ControlNet, and its outputs' shapes (the UNet's residual inputs).</summary>
    public (double Ms, Dictionary<string, long[]> Residuals) ControlNet(string path, int runs)
    {
        using var session = new InferenceSession(path, _options);
        var inputs = new Dictionary<string, long[]>
        {
            ["sample"] = [Batch, 4, Latent, Latent], ["encoder_hidden_states"] = [Batch, Tokens, ContextDim(session)],
            ["controlnet_cond"] = [Batch, 3, Hint, Hint],
        };
        // Let ONNX Runtime allocate the outputs once to learn their shapes, then bind buffers of those shapes.
        using var probe = Bind(session, inputs, null);
        using (var once = new RunOptions()) session.RunWithBinding(once, probe);
        var shapes = probe.GetOutputValues().Zip(session.OutputMetadata.Keys)
            .ToDictionary(p => p.Second, p => p.First.GetTensorTypeAndShape().Shape);
        using var binding = Bind(session, inputs, shapes);
        return (Time(session, binding, runs), shapes);
    }

    /// <summary>ms per bare run of a UNet; its residual inputs (if any) are fed zeros of the given shapes.</summary>
    public double UNet(string path, Dictionary<string, long[]> residuals, int runs)
    {
        using var session = new InferenceSession(path, _options);
        var inputs = new Dictionary<string, long[]> { ["sample"] = [Batch, 4, Latent, Latent], ["encoder_hidden_states"] = [Batch, Tokens, ContextDim(session)] };
        foreach (var (name, shape) in residuals)
            if (session.InputMetadata.ContainsKey(name)) inputs[name] = shape;
        var output = session.OutputMetadata.Keys.First();
        using var binding = Bind(session, inputs, new Dictionary<string, long[]> { [output] = [Batch, 4, Latent, Latent] });
        return Time(session, binding, runs);
    }

    private static int ContextDim(InferenceSession session) => session.InputMetadata["encoder_hidden_states"].Dimensions[2];

    private OrtIoBinding Bind(InferenceSession session, Dictionary<string, long[]> inputs, Dictionary<string, long[]>? outputs)
    {
        var binding = session.CreateIoBinding();
        // Inputs like a generation's: unit-normal latents and context, a hint in [0, 1], residual inputs fed zeros as the
        // engine feeds them without a unit. (Constant inputs ran the SD 1.5-shaped UNet faster than real ones.)
        foreach (var (name, shape) in inputs)
            binding.BindInput(name, Own(Value(session.InputMetadata[name].ElementDataType, shape, name.Contains("residual") ? 0 : null)));
        var t = session.InputMetadata["timestep"];
        var count = t.Dimensions.Length == 1 && t.Dimensions[0] == 1 ? 1 : Batch;
        binding.BindInput("timestep", Own(Value(t.ElementDataType, [count], 500)));
        foreach (var name in session.OutputMetadata.Keys)
        {
            if (outputs is null) binding.BindOutputToDevice(name, OrtMemoryInfo.DefaultInstance);
            else binding.BindOutput(name, Own(Value(session.OutputMetadata[name].ElementDataType, outputs[name], 0)));
        }
        return binding;
    }

    private OrtValue Own(OrtValue value)
    {
        _owned.Add(value);
        return value;
    }

    /// <summary>A tensor of the constant <paramref name="fill"/>, or of seeded unit-normal noise when it is null.</summary>
    private static OrtValue Value(TensorElementType type, long[] shape, double? fill = null)
    {
        var n = (int)shape.Aggregate(1L, (a, b) => a * b);
        var values = fill is { } f ? Enumerable.Repeat((float)f, n).ToArray() : new ControlHost.Engine.Scheduling.NoiseGenerator(7).Normal(n);
        return type switch
        {
            TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(values, shape),
            TensorElementType.Float16 => OrtValue.CreateTensorValueFromMemory(values.Select(v => (Float16)v).ToArray(), shape),
            TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat((long)(fill ?? 0), n).ToArray(), shape),
            _ => throw new NotSupportedException($"{type}"),
        };
    }

    private static double Time(InferenceSession session, OrtIoBinding binding, int runs)
    {
        using var options = new RunOptions();
        for (var i = 0; i < 3; i++) session.RunWithBinding(options, binding);
        var times = new List<double>();
        for (var i = 0; i < runs; i++)
        {
            var clock = Stopwatch.StartNew();
            session.RunWithBinding(options, binding);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }
        return BenchSetup.Median(times);
    }

    public void Dispose()
    {
        foreach (var o in _owned) o.Dispose();
        _options.Dispose();
    }
}
