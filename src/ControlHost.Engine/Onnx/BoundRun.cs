using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Engine.Onnx;

/// <summary>
/// One prepared session run (the UNet's or a ControlNet's): inputs and outputs bound once to OrtValues over the
/// engine's own buffers, the timestep in a bound array rewritten per run. The OrtValues pin the buffers until the
/// run is disposed. A float16 input or output is bound to a float16 staging buffer made here once, which the run
/// fills from (or copies back into) the engine's float32 buffer, so a step still allocates nothing.
/// <typeparamref name="TKey"/> says which buffers and shapes it was made for.
/// </summary>
internal sealed class BoundRun<TKey> : IDisposable
{
    private readonly List<OrtValue> _values = [];
    private readonly List<(Memory<float> Floats, Float16[] Half)> _halfInputs = [], _halfOutputs = [];
    private readonly OrtIoBinding _binding;
    private readonly BoundTimestep _timestep;

    public BoundRun(OnnxModel model, TKey key, TensorSpec timestep, int batch)
    {
        Key = key;
        _binding = model.CreateBinding();
        _timestep = new BoundTimestep(timestep, batch);
        _binding.BindInput(timestep.Name, _timestep.Value);
    }

    public TKey Key { get; }

    public void Input(string name, OrtValue value)
    {
        _values.Add(value);
        _binding.BindInput(name, value);
    }

    public void Output(string name, OrtValue value)
    {
        _values.Add(value);
        _binding.BindOutput(name, value);
    }

    /// <summary>Binds a float32 buffer to an input declared float32 (no copy) or float16 (converted before each run).</summary>
    public void Input(TensorSpec spec, Memory<float> data, params long[] shape)
    {
        if (spec.ElementType == TensorElementType.Float)
        {
            Input(spec.Name, OrtTensors.Wrap(data, shape));
            return;
        }
        OrtTensors.Require(spec);
        var half = new Float16[data.Length];
        _halfInputs.Add((data, half));
        Input(spec.Name, OrtTensors.Wrap(half, shape));
    }

    /// <summary>Binds a float32 buffer to an output declared float32 (written in place) or float16 (converted after each run).</summary>
    public void Output(TensorSpec spec, Memory<float> data, params long[] shape)
    {
        if (spec.ElementType == TensorElementType.Float)
        {
            Output(spec.Name, OrtTensors.Wrap(data, shape));
            return;
        }
        OrtTensors.Require(spec);
        var half = new Float16[data.Length];
        _halfOutputs.Add((data, half));
        Output(spec.Name, OrtTensors.Wrap(half, shape));
    }

    public void Run(OnnxModel model, double timestep)
    {
        _timestep.Set(timestep);
        foreach (var (floats, half) in _halfInputs) OrtTensors.ToHalf(floats.Span, half);
        model.Run(_binding);
        foreach (var (floats, half) in _halfOutputs) OrtTensors.ToSingle(half, floats.Span);
    }

    public void Dispose()
    {
        _binding.Dispose();
        _timestep.Dispose();
        foreach (var v in _values) v.Dispose();
    }
}

/// <summary>
/// The few runs a model keeps bound (both guidance halves, several units' hints, a new generation's buffers); the
/// oldest is released when a new one needs room. Callers lock it while they use a run.
/// </summary>
internal sealed class BoundRuns<TKey>(int capacity) : IDisposable where TKey : IEquatable<TKey>
{
    private readonly List<BoundRun<TKey>> _runs = [];

    /// <summary>The run made for <paramref name="key"/>, or null (no allocation either way).</summary>
    public BoundRun<TKey>? Find(in TKey key)
    {
        foreach (var run in _runs)
            if (run.Key.Equals(key)) return run;
        return null;
    }

    public BoundRun<TKey> Add(BoundRun<TKey> run)
    {
        if (_runs.Count == capacity)
        {
            _runs[0].Dispose();
            _runs.RemoveAt(0);
        }
        _runs.Add(run);
        return run;
    }

    public void Dispose()
    {
        foreach (var run in _runs) run.Dispose();
        _runs.Clear();
    }
}
