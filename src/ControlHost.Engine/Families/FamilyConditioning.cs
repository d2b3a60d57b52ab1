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
