using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Engine.Onnx;

/// <summary>OrtValues that wrap managed buffers without copying (inputs and pre-allocated outputs).</summary>
internal static class OrtTensors
{
    public static OrtValue Wrap<T>(T[] data, params long[] shape) where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(), shape);

    public static OrtValue Wrap<T>(Memory<T> data, params long[] shape) where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, shape);

    /// <summary>A scalar or batch timestep in the element type the model declares.</summary>
    public static OrtValue Timestep(TensorSpec spec, double timestep, int batch)
    {
        // Declared [1] (or rank 0) means one value for the whole batch; otherwise one per batch entry.
        var count = spec.Rank == 0 || (spec.Rank == 1 && spec.Dimensions[0] == 1) ? 1 : batch;
        long[] shape = spec.Rank == 0 ? [] : [count];
        return spec.ElementType switch
        {
            TensorElementType.Float => Wrap(Enumerable.Repeat((float)timestep, count).ToArray(), shape),
            TensorElementType.Double => Wrap(Enumerable.Repeat(timestep, count).ToArray(), shape),
            TensorElementType.Int64 => Wrap(Enumerable.Repeat((long)Math.Round(timestep), count).ToArray(), shape),
            TensorElementType.Int32 => Wrap(Enumerable.Repeat((int)Math.Round(timestep), count).ToArray(), shape),
            _ => throw new NotSupportedException($"timestep input '{spec.Name}' has element type {spec.ElementType}; float32, float64, int32 or int64 expected"),
        };
    }
}
