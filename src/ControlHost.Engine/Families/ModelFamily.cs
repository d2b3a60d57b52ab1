namespace ControlHost.Engine.Families;

/// <summary>
/// What differs between model families and is not read from a model's own files: the name users know, the latent
/// layout, how prompts become conditioning, and the id model folders use (controlhost.json "family", controlnet.json
/// "base"). SD 1.x and SD 2.x share the loop's inputs (one text encoder, context only); the difference in text encoders
/// lives in the built graph and the tokenizer folder (SD 2.x: OpenCLIP's penultimate layer, pad id 0), and the
/// prediction type in the scheduler config. Per model, the folder's own files (sample_size, prediction_type) refine this.
/// </summary>
/// <param name="Conditioning">How prompts become the networks' conditioning (text encoders, pooled embedding, extra inputs).</param>
/// <param name="NativeSize">The size the family's base models are trained at (a folder's unet/config.json sample_size
/// refines it per model: SD 2.x's 768-v models).</param>
public sealed record ModelFamily(string Id, string Name, int LatentChannels, int LatentFactor, IFamilyConditioning Conditioning, int NativeSize)
{
    public static readonly ModelFamily Sd1 = new("sd1", "SD 1.x", 4, 8, SingleEncoderConditioning.Instance, 512);
    public static readonly ModelFamily Sd2 = new("sd2", "SD 2.x", 4, 8, SingleEncoderConditioning.Instance, 512);
    public static readonly ModelFamily Sdxl = new("sdxl", "SDXL", 4, 8, SdxlConditioning.Instance, 1024);

    public static IReadOnlyList<ModelFamily> All { get; } = [Sd1, Sd2, Sdxl];

    /// <summary>The family with this id, or null (a ControlNet's "base" may name a model instead of a family).</summary>
    public static ModelFamily? Find(string? id) => All.FirstOrDefault(f => string.Equals(f.Id, id, StringComparison.OrdinalIgnoreCase));

    /// <summary>The family by a UNet's cross-attention width: 1024 SD 2.x, 2048 SDXL, else SD 1.x (768, and the small ones).</summary>
    public static ModelFamily OfContextWidth(double? width) => width switch { 1024 => Sd2, 2048 => Sdxl, _ => Sd1 };
}
