using Microsoft.ML.OnnxRuntime;

namespace ControlHost.Engine.Onnx;

/// <summary>OrtValues that wrap managed buffers without copying (inputs and pre-allocated outputs).</summary>
internal static class OrtTensors
{
    public static OrtValue Wrap<T>(T[] data, params long[] shape) where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(), shape);

    public static OrtValue Wrap<T>(Memory<T> data, params long[] shape) where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, shape);
}
