namespace ControlHost.Checkpoints.Onnx;

/// <summary>
/// Named float weights in one naming scheme (the original latent-diffusion names): what a graph builder reads. A
/// source hides where they come from (a single-file checkpoint, a diffusers folder translated by name, LoRAs merged in).
/// </summary>
public interface IWeightSource
{
    bool Has(string name);

    /// <exception cref="CheckpointException">No such weight; the message names it.</exception>
    long[] Shape(string name);

    /// <summary>The weight as float32, with any LoRA merged in.</summary>
    float[] Read(string name);
}
