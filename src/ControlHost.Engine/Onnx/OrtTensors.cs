using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Engine.Onnx;

/// <summary>
/// OrtValues that wrap managed buffers without copying (inputs and pre-allocated outputs), and the float16 boundary:
/// the engine keeps every tensor in float32, and a model that declares float16 inputs or outputs (many published SD
/// exports) gets them converted where they cross into and out of ONNX Runtime.
/// </summary>
internal static class OrtTensors
{
    public static OrtValue Wrap<T>(T[] data, params long[] shape) where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data.AsMemory(), shape);

    public static OrtValue Wrap<T>(Memory<T> data, params long[] shape) where T : unmanaged =>
        OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, shape);

    /// <summary>True for the element types the engine feeds from float32 buffers.</summary>
    public static bool IsFloating(TensorElementType type) => type is TensorElementType.Float or TensorElementType.Float16;

    /// <summary>A once-per-generation input in the element type the model declares (float32 wraps, float16 copies).</summary>
    public static OrtValue Floats(TensorSpec spec, float[] data, params long[] shape)
    {
        if (spec.ElementType == TensorElementType.Float) return Wrap(data, shape);
        Require(spec);
        var half = new Float16[data.Length];
        ToHalf(data, half);
        return Wrap(half, shape);
    }

    /// <summary>A float32 copy of an output, whichever floating type the model wrote.</summary>
    public static float[] ReadFloats(OrtValue value, string path)
    {
        var type = value.GetTensorTypeAndShape().ElementDataType;
        if (type == TensorElementType.Float) return value.GetTensorDataAsSpan<float>().ToArray();
        if (type != TensorElementType.Float16) throw new ModelLoadException(path, $"output is {type}; float32 or float16 expected");
        var half = value.GetTensorDataAsSpan<Float16>();
        var floats = new float[half.Length];
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(half), floats);
        return floats;
    }

    public static void ToHalf(ReadOnlySpan<float> source, Span<Float16> destination) =>
        TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<Float16, Half>(destination));

    public static void ToSingle(ReadOnlySpan<Float16> source, Span<float> destination) =>
        TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<Float16, Half>(source), destination);

    /// <exception cref="ModelLoadException">A tensor the engine would feed floats that is neither float32 nor float16.</exception>
    public static void Require(TensorSpec spec, string? path = null)
    {
        if (!IsFloating(spec.ElementType))
            throw new ModelLoadException(path ?? spec.Name, $"'{spec.Name}' is {spec.ElementType}{spec.ShapeText}; float32 or float16 expected");
    }

    /// <summary>The model's inputs among <paramref name="names"/> (a family's extra inputs, SDXL's text_embeds and
    /// time_ids), each checked to be a float [B,N] with a fixed N.</summary>
    /// <exception cref="ModelLoadException">One of them has another shape or type.</exception>
    public static TensorSpec[] RowInputs(OnnxModel model, params string[] names)
    {
        var inputs = model.Inputs.Where(i => names.Contains(i.Name)).ToArray();
        foreach (var e in inputs)
        {
            if (e.Rank != 2 || e.Dimensions[1] <= 0) throw new ModelLoadException(model.Path, $"input '{e.Name}' is {e.ShapeText}; [B,N] with a fixed N expected");
            Require(e, model.Path);
        }
        return inputs;
    }
}
