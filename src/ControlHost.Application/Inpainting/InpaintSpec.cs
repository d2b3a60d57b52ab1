using ControlHost.Application.Sources;

namespace ControlHost.Application.Inpainting;

/// <summary>What the masked region starts from (A1111's inpainting_fill, in its order 0-3).</summary>
public enum MaskedContent
{
    /// <summary>0: the region filled from the colours around it before encoding.</summary>
    Fill = 0,
    /// <summary>1: the image as it is.</summary>
    Original = 1,
    /// <summary>2: fresh latent noise.</summary>
    LatentNoise = 2,
    /// <summary>3: zero latents.</summary>
    LatentNothing = 3,
}

/// <summary>
/// Where and how to inpaint, in A1111's terms. Exactly one of <see cref="MaskImage"/>, <see cref="Box"/> and
/// <see cref="Polygon"/> says where (white/inside = generate; grey blends). Every coordinate is in pixels of the
/// init image, and the result keeps the init image's size: outside the mask (after blur and feather) every pixel is
/// the init image's own.
/// </summary>
public sealed record InpaintSpec
{
    /// <summary>A mask image of the init image's size (white = generate).</summary>
    public ImageSource? MaskImage { get; init; }

    /// <summary>A box to generate.</summary>
    public PixelBox? Box { get; init; }

    /// <summary>A filled polygon to generate, at least three points.</summary>
    public IReadOnlyList<(double X, double Y)>? Polygon { get; init; }

    /// <summary>Gaussian blur of the mask, sigma in init-image pixels (A1111's mask_blur; null: 4).</summary>
    public double? MaskBlur { get; init; }

    /// <summary>A soft band of this many pixels outside the mask, linear from 255 at its edge to 0 (placement's
    /// feather); beyond it nothing changes.</summary>
    public int Feather { get; init; }

    /// <summary>Generate where the mask is black instead (A1111's inpainting_mask_invert).</summary>
    public bool Invert { get; init; }

    /// <summary>A1111's inpainting_fill (null: original).</summary>
    public MaskedContent? Content { get; init; }

    /// <summary>A1111's inpaint_full_res ("only masked"): generate a crop around the mask at the working size.</summary>
    public bool OnlyMasked { get; init; }

    /// <summary>A1111's inpaint_full_res_padding, in init-image pixels (null: 32).</summary>
    public int? Padding { get; init; }

    public const double DefaultMaskBlur = 4;
    public const int DefaultPadding = 32;
}
