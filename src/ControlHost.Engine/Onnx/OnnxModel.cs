using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Engine.Onnx;

/// <summary>One input or output as the session's metadata declares it (-1 for a dynamic dimension).</summary>
public sealed record TensorSpec(string Name, TensorElementType ElementType, int[] Dimensions)
{
    public int Rank => Dimensions.Length;
    public string ShapeText => $"[{string.Join(",", Dimensions.Select(d => d < 0 ? "?" : d.ToString()))}]";
}

/// <summary>
/// An ONNX Runtime session created once and reused, with its input/output metadata and the time spent inside Run.
/// </summary>
public sealed class OnnxModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunOptions _runOptions = new();
    private long _runTicks;

    private readonly OrtValue[] _overrides;

    private OnnxModel(string path, InferenceSession session, OrtValue[]? overrides = null)
    {
        Path = path;
        _session = session;
        _overrides = overrides ?? [];
        Inputs = session.InputMetadata.Select(kv => Spec(kv.Key, kv.Value)).ToArray();
        Outputs = session.OutputMetadata.Select(kv => Spec(kv.Key, kv.Value)).ToArray();
    }

    public string Path { get; }
    public IReadOnlyList<TensorSpec> Inputs { get; }
    public IReadOnlyList<TensorSpec> Outputs { get; }

    /// <summary>Total time spent inside ONNX Runtime's Run for this model.</summary>
    public TimeSpan RunTime => TimeSpan.FromTicks(Interlocked.Read(ref _runTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency);

    /// <summary>Number of Run calls.</summary>
    public int RunCount => Volatile.Read(ref _runCount);

    /// <exception cref="ModelLoadException">Missing file or not a model ONNX Runtime can load.</exception>
    public static OnnxModel Load(string path, ExecutionDevice device) => Load(path, device, null);

    /// <summary>
    /// Loads a model with some of its initializers replaced by values held in memory (LoRA-merged weights,
    /// textual-inversion rows): ONNX Runtime uses them instead of the file's, and they live as long as the session.
    /// </summary>
    public static OnnxModel Load(string path, ExecutionDevice device, IReadOnlyList<WeightOverride>? overrides, bool liveWeights = false)
    {
        if (!File.Exists(path)) throw new ModelLoadException(path, "file not found");
        var values = (overrides ?? []).Select(o => OrtValue.CreateTensorValueFromMemory(o.Values, o.Shape)).ToArray();
        try
        {
            using var options = device.CreateOptions(replacedWeights: values.Length > 0, liveWeights: liveWeights && values.Length > 0);
            for (var i = 0; i < values.Length; i++) options.AddInitializer(overrides![i].Name, values[i]);
            return new OnnxModel(path, new InferenceSession(path, options), values);
        }
        catch (OnnxRuntimeException e)
        {
            foreach (var v in values) v.Dispose();
            throw new ModelLoadException(path, $"not a model ONNX Runtime can load: {e.Message.Split('\n')[0]}");
        }
    }

    public TensorSpec Input(string name) =>
        Inputs.FirstOrDefault(i => i.Name == name) ?? throw new KeyNotFoundException($"{Path}: no input '{name}'");

    public bool HasInput(string name) => Inputs.Any(i => i.Name == name);

    /// <summary>Runs with the given inputs; outputs are written into the caller's pre-allocated OrtValues.</summary>
    public void Run(IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames, IReadOnlyCollection<OrtValue> outputs)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            _session.Run(_runOptions, inputNames, inputs, outputNames, outputs);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelRunException(Path, e);
        }
        finally
        {
            Account(start);
        }
    }

    /// <summary>A binding of inputs and outputs to reuse across runs (see <see cref="BoundTimestep"/> and the UNet).</summary>
    public OrtIoBinding CreateBinding() => _session.CreateIoBinding();

    /// <summary>Runs a prepared binding: no names to marshal, no wrappers to make, so nothing is allocated.</summary>
    public void Run(OrtIoBinding binding)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            _session.RunWithBinding(_runOptions, binding);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelRunException(Path, e);
        }
        finally
        {
            Account(start);
        }
    }

    /// <summary>Runs and lets ONNX Runtime allocate the outputs (for once-per-generation calls).</summary>
    public IDisposableReadOnlyCollection<OrtValue> Run(IReadOnlyCollection<string> inputNames, IReadOnlyCollection<OrtValue> inputs,
        IReadOnlyCollection<string> outputNames)
    {
        var start = Stopwatch.GetTimestamp();
        try
        {
            return _session.Run(_runOptions, inputNames, inputs, outputNames);
        }
        catch (OnnxRuntimeException e)
        {
            throw new ModelRunException(Path, e);
        }
        finally
        {
            Account(start);
        }
    }

    // Time inside Run, per model (all callers) and per thread: a generation runs its model calls on one thread, so the
    // thread's sum before and after a step is that generation's own model time, whatever else runs concurrently.
    [ThreadStatic] private static long _threadRunTicks;

    /// <summary>Time spent inside ONNX Runtime's Run by every model on the calling thread so far.</summary>
    public static TimeSpan ThreadRunTime => TimeSpan.FromTicks(_threadRunTicks * TimeSpan.TicksPerSecond / Stopwatch.Frequency);

    private void Account(long start)
    {
        var elapsed = Stopwatch.GetTimestamp() - start;
        Interlocked.Add(ref _runTicks, elapsed);
        _threadRunTicks += elapsed;
        Interlocked.Increment(ref _runCount);
    }

    private int _runCount;

    private static TensorSpec Spec(string name, NodeMetadata meta) =>
        new(name, meta.ElementDataType, meta.Dimensions.ToArray());

    public void Dispose()
    {
        _runOptions.Dispose();
        _session.Dispose();
        foreach (var v in _overrides) v.Dispose();
    }
}

/// <summary>An initializer's replacement: its name in the graph, float32 values and shape.</summary>
public sealed record WeightOverride(string Name, float[] Values, long[] Shape);

/// <summary>
/// ONNX Runtime failed while running a model that loaded: an internal fault (a broken export, a bad provider, memory),
/// not a problem with the user's input, which the engine checks before any run.
/// </summary>
public sealed class ModelRunException(string path, Exception inner)
    : Exception($"{path}: run failed: {inner.Message.Split('\n')[0]}", inner)
{
    public string ModelPath { get; } = path;
}

/// <summary>A model file that could not be loaded; the message names the file and the reason.</summary>
public sealed class ModelLoadException(string path, string reason) : Exception($"{path}: {reason}")
{
    public string ModelPath { get; } = path;
}
