using ControlHost.Abstractions;
using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Conditioning;

/// <summary>A Composer-style global condition: condition [1,K] -> context_tokens [1,T,D] through an adapter session.</summary>
public sealed class AdapterBranch(string name, OnnxModel adapter, float[] condition) : IContextBranch
{
    public string Name { get; } = name;

    public FloatTensor ComputeContextTokens()
    {
        var input = adapter.Inputs[0];
        if (input.Rank != 2 || (input.Dimensions[1] > 0 && input.Dimensions[1] != condition.Length))
            throw new InvalidOperationException(
                $"{Name}: adapter '{adapter.Path}' takes {input.ShapeText} but the condition has {condition.Length} values");
        using var value = OrtTensors.Floats(input, condition.ToArray(), 1, condition.Length);
        using var outputs = adapter.Run([input.Name], [value], [adapter.Outputs[0].Name]);
        var output = outputs.First();
        var shape = output.GetTensorTypeAndShape().Shape;
        if (shape.Length != 3)
            throw new InvalidOperationException($"{Name}: adapter output has rank {shape.Length}; [1,T,D] expected");
        return new FloatTensor(OrtTensors.ReadFloats(output, adapter.Path), (int)shape[1], (int)shape[2]);
    }

    public void Dispose()
    {
        // The session is shared and owned by the model.
    }
}
