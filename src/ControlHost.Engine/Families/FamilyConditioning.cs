using ControlHost.Abstractions;
using ControlHost.Engine.Components;

namespace ControlHost.Engine.Families;

/// <summary>A prompt as a family's networks take it: the context [Tokens, Dim], and the pooled embedding where the
/// family has one (SDXL's text_embeds); null for SD 1.x and 2.x.</summary>
public sealed record PromptConditioning(float[] Context, int Tokens, int Dim, float[]? Pooled = null);

/// <summary>
/// The family's part of a generation's conditioning: how a prompt becomes what the UNet attends to, and what further
/// inputs the UNet and ControlNets take for a batch (SDXL: text_embeds and time_ids from the sizes). The loop asks
/// this and stays one loop.
/// </summary>
public interface IFamilyConditioning
{
    /// <summary>Tokenizes and encodes one prompt with the model's text encoder(s).</summary>
    PromptConditioning Encode(StableDiffusionModel model, string prompt);

    /// <summary>The extra named inputs for a batch of prompts in batch order (uncond first), at a generation size;
    /// empty where the family has none.</summary>
    IReadOnlyDictionary<string, FloatTensor> ExtraInputs(IReadOnlyList<PromptConditioning> batch, int width, int height);
}

/// <summary>
/// SD 1.x and SD 2.x: one tokenizer and one text encoder, whose last_hidden_state is the context; no pooled embedding
/// and no extra inputs. (What differs between the two, CLIP's last layer or OpenCLIP's penultimate one and the padding
/// token, is in the built text encoder graph and the tokenizer folder.)
/// </summary>
public sealed class SingleEncoderConditioning : IFamilyConditioning
{
    public static readonly SingleEncoderConditioning Instance = new();

    private static readonly IReadOnlyDictionary<string, FloatTensor> None = new Dictionary<string, FloatTensor>();

    public PromptConditioning Encode(StableDiffusionModel model, string prompt)
    {
        var encoded = model.TextEncoder.Encode(model.Tokenizer.EncodeForModel(prompt));
        return new PromptConditioning(encoded.Data, encoded.Tokens, encoded.Dim);
    }

    public IReadOnlyDictionary<string, FloatTensor> ExtraInputs(IReadOnlyList<PromptConditioning> batch, int width, int height) => None;
}

/// <summary>
/// SDXL: CLIP ViT-L and OpenCLIP bigG each tokenize the prompt (bigG's tokenizer pads with id 0) and give their
/// penultimate layer; the context is the two side by side per token (768 + 1280 = 2048 wide), the pooled embedding
/// bigG's text_embeds. The UNet and ControlNets also take text_embeds and time_ids: original size, crop top-left and
/// target size, which A1111 sets to (height, width), (0, 0) and (height, width) for a plain generation.
/// </summary>
public sealed class SdxlConditioning : IFamilyConditioning
{
    public static readonly SdxlConditioning Instance = new();

    public PromptConditioning Encode(StableDiffusionModel model, string prompt)
    {
        var second = model.TextEncoder2 ?? throw new InvalidOperationException($"{model.Folder.Root}: an SDXL model needs text_encoder_2/model.onnx");
        var tokenizer2 = model.Tokenizer2!;
        var first = model.TextEncoder.Encode(model.Tokenizer.EncodeForModel(prompt));
        var (hidden, pooled) = second.EncodeWithPooled(tokenizer2.EncodeForModel(prompt));
        if (first.Tokens != hidden.Tokens)
            throw new InvalidOperationException($"{model.Folder.Root}: the text encoders give {first.Tokens} and {hidden.Tokens} tokens");
        var dim = first.Dim + hidden.Dim;
        var context = new float[first.Tokens * dim];
        for (var t = 0; t < first.Tokens; t++)
        {
            Array.Copy(first.Data, t * first.Dim, context, t * dim, first.Dim);
            Array.Copy(hidden.Data, t * hidden.Dim, context, t * dim + first.Dim, hidden.Dim);
        }
        return new PromptConditioning(context, first.Tokens, dim, pooled);
    }

    public IReadOnlyDictionary<string, FloatTensor> ExtraInputs(IReadOnlyList<PromptConditioning> batch, int width, int height)
    {
        var pooledWidth = batch[0].Pooled!.Length;
        var textEmbeds = new float[batch.Count * pooledWidth];
        var timeIds = new float[batch.Count * 6];
        for (var b = 0; b < batch.Count; b++)
        {
            batch[b].Pooled!.CopyTo(textEmbeds, b * pooledWidth);
            float[] ids = [height, width, 0, 0, height, width];
            ids.CopyTo(timeIds, b * 6);
        }
        return new Dictionary<string, FloatTensor>
        {
            ["text_embeds"] = new(textEmbeds, batch.Count, pooledWidth),
            ["time_ids"] = new(timeIds, batch.Count, 6),
        };
    }
}
