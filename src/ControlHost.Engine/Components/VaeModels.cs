using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Components;

/// <summary>The VAE halves: encoder sample [1,3,H,W] in [-1,1] -> latent_sample, decoder the reverse.</summary>
public sealed class VaeModel(OnnxModel model) : IDisposable
{
    public OnnxModel Model => model;

    /// <summary>Runs on a [1,C,H,W] tensor and returns the output with its shape.</summary>
    public (float[] Data, int[] Shape) Run(float[] input, int channels, int height, int width)
    {
        using var value = OrtTensors.Floats(model.Inputs[0], input, 1, channels, height, width);
        using var outputs = model.Run([model.Inputs[0].Name], [value], [model.Outputs[0].Name]);
        var output = outputs.First();
        var shape = output.GetTensorTypeAndShape().Shape.Select(d => (int)d).ToArray();
        if (shape.Length != 4)
            throw new InvalidOperationException($"{model.Path}: output has rank {shape.Length}; [1,C,H,W] expected");
        return (OrtTensors.ReadFloats(output, model.Path), shape);
    }

    public void Dispose() => model.Dispose();
}
