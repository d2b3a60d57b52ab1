using ControlHost.Application.Inpainting;

namespace ControlHost.Application.Names;

/// <summary>A1111's names for masked content: the infotext's words, the API's integers (inpainting_fill 0-3) and
/// the CLI's spellings.</summary>
public static class InpaintNames
{
    private static readonly NameTable<MaskedContent> Content = new(
        (MaskedContent.Fill, "fill", ["0"]),
        (MaskedContent.Original, "original", ["1"]),
        (MaskedContent.LatentNoise, "latent noise", ["noise", "2"]),
        (MaskedContent.LatentNothing, "latent nothing", ["nothing", "3"]));

    public static MaskedContent? TryParseContent(string value) => Content.TryParse(value);

    public static string Format(MaskedContent content) => Content.Format(content);

    public const string ContentHelp = "fill, original, latent-noise or latent-nothing (or 0-3, A1111's inpainting_fill)";
}
