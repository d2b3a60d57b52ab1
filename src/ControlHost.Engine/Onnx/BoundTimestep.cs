using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Engine.Onnx;

/// <summary>
/// A timestep input bound once: a small array in the element type the model declares, wrapped in an OrtValue, whose
/// contents change from step to step while the binding stays.
/// </summary>
internal sealed class BoundTimestep : IDisposable
{
    private readonly Array _values;

    public BoundTimestep(TensorSpec spec, int batch)
    {
        // Declared [1] (or rank 0) means one value for the whole batch; otherwise one per batch entry.
        var count = spec.Rank == 0 || (spec.Rank == 1 && spec.Dimensions[0] == 1) ? 1 : batch;
        long[] shape = spec.Rank == 0 ? [] : [count];
        (_values, Value) = spec.ElementType switch
        {
            TensorElementType.Float => Make(new float[count], shape),
            TensorElementType.Double => Make(new double[count], shape),
            TensorElementType.Float16 => Make(new Float16[count], shape),
            TensorElementType.Int64 => Make(new long[count], shape),
            TensorElementType.Int32 => Make(new int[count], shape),
            _ => throw new NotSupportedException($"timestep input '{spec.Name}' has element type {spec.ElementType}; float32, float16, float64, int32 or int64 expected"),
        };
    }

    public OrtValue Value { get; }

    private static (Array, OrtValue) Make<T>(T[] values, long[] shape) where T : unmanaged =>
        (values, OrtTensors.Wrap(values, shape));

    public void Set(double timestep)
    {
        switch (_values)
        {
            case float[] f: Array.Fill(f, (float)timestep); break;
            case double[] d: Array.Fill(d, timestep); break;
            case Float16[] h: Array.Fill(h, (Float16)(float)timestep); break;
            case long[] l: Array.Fill(l, (long)Math.Round(timestep)); break;
            case int[] i: Array.Fill(i, (int)Math.Round(timestep)); break;
        }
    }

    public void Dispose() => Value.Dispose();
}
