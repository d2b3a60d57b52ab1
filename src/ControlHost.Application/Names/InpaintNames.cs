using ControlHost.Application.Inpainting;

namespace ControlHost.Application.Names;

/// <summary>A1111's names for masked content: the infotext's words, the API's integers (inpainting_fill 0-3) and
/// the CLI's spellings.</summary>
public static class InpaintNames
{
    public static MaskedContent? TryParseContent(string value) =>
        value.Trim().ToLowerInvariant().Replace("-", " ").Replace("_", " ") switch
        {
            "fill" or "0" => MaskedContent.Fill,
            "original" or "1" => MaskedContent.Original,
            "latent noise" or "noise" or "2" => MaskedContent.LatentNoise,
            "latent nothing" or "nothing" or "3" => MaskedContent.LatentNothing,
            _ => null,
        };

    public static string Format(MaskedContent content) => content switch
    {
        MaskedContent.Fill => "fill",
        MaskedContent.LatentNoise => "latent noise",
        MaskedContent.LatentNothing => "latent nothing",
        _ => "original",
    };

    public const string ContentHelp = "fill, original, latent-noise or latent-nothing (or 0-3, A1111's inpainting_fill)";
}
