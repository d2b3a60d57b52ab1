using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Models;

/// <summary>
/// What is added to a base model's files when it loads: replacement weights for the UNet and the text encoder (LoRA
/// buffers, textual-inversion rows), and the words whose tokens become those rows. <see cref="Key"/> tells two sets apart:
/// the model pool keeps one loaded model per folder and key.
/// </summary>
public sealed record ModelAdditions(string Key, IReadOnlyList<WeightOverride> Unet, IReadOnlyList<WeightOverride> TextEncoder,
    IReadOnlyDictionary<string, int[]> EmbeddingWords)
{
    public static readonly ModelAdditions None = new("", [], [], new Dictionary<string, int[]>());

    /// <summary>
    /// The replacement buffers are rewritten in place while the sessions live (a LoRA switch): the sessions must read them
    /// at every run rather than pre-pack copies of them.
    /// </summary>
    public bool LiveWeights { get; init; }

    /// <summary>Replacement weights for SDXL's second text encoder (a LoRA's lora_te2_ modules).</summary>
    public IReadOnlyList<WeightOverride> TextEncoder2 { get; init; } = [];

    /// <summary>What the user should know (LoRA modules that matched nothing, embeddings skipped).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>The bytes of the replacement weights held in memory beside the sessions.</summary>
    public long Bytes => Unet.Concat(TextEncoder).Concat(TextEncoder2).Sum(w => w.Values.LongLength * 4);
}
