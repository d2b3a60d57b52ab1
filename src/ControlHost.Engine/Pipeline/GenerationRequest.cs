using ControlHost.Abstractions;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Engine.Pipeline;

/// <summary>
/// The base parameters of one generation, all concrete: defaults, seeds and names are the application layer's policy.
/// </summary>
public sealed record GenerationRequest
{
    public required string Prompt { get; init; }
    public string NegativePrompt { get; init; } = "";

    /// <summary>Image width in pixels (a multiple of 8); 0 means the model's native size.</summary>
    public int Width { get; init; }
    public int Height { get; init; }
    public int Steps { get; init; } = 20;
    public double CfgScale { get; init; } = 7.0;
    public SamplerId Sampler { get; init; } = SamplerId.EulerAncestral;

    /// <summary>The seed of the starting noise (and of an ancestral sampler's fresh noise).</summary>
    public uint Seed { get; init; }

    /// <summary>img2img: the starting image (fitted to the size) and how much of the schedule re-noises it.</summary>
    public RgbImage? InitImage { get; init; }
    public double Strength { get; init; } = 0.75;

    /// <summary>The steps an img2img run executes: the last Steps x Strength of the schedule (A1111's rule).</summary>
    public int StrengthSteps => Math.Min((int)(Steps * Strength), Steps);

    /// <summary>The starting noise, [1,4,h,w], in place of the seed's: for comparing a whole generation with another
    /// implementation from the same noise. Null (the default): the seed's noise.</summary>
    public float[]? Noise { get; init; }

    /// <summary>img2img from a latent instead of an image ([1,4,H/8,W/8] in the diffusion latent's space, as
    /// <see cref="GenerationResult.FinalLatent"/>): the hires fix's second pass after a latent upscale.</summary>
    public float[]? InitLatent { get; init; }

    /// <summary>
    /// Inpainting: where to generate (white; grey blends), fitted to the size like the init image, which it needs.
    /// An inpainting UNet (9 input channels) sees the mask and the masked image; a plain UNet keeps the unmasked
    /// latent on the init image's noised path at every step. Either way the decoded image is blended back into the
    /// init image with the mask, so pixels where the mask is black come out exactly as they went in.
    /// </summary>
    public RgbImage? Mask { get; init; }

    /// <summary>Inpainting: what the masked latent cells start from before they are noised to the first step (A1111's
    /// "masked content" latent modes; its "fill" is done on the init image's pixels by the application layer).</summary>
    public MaskedLatentStart MaskedStart { get; init; } = MaskedLatentStart.Original;

    /// <summary>Decode a preview of the latent every this many steps (0: none), passed with the progress report.</summary>
    public int PreviewEvery { get; init; }

    /// <summary>Checks the values that need no model; returns the first problem or null.</summary>
    public string? Validate()
    {
        if (Width < 0 || Height < 0 || Width % 8 != 0 || Height % 8 != 0)
            return $"size {Width}x{Height}: width and height must be positive multiples of 8";
        if (Width > 4096 || Height > 4096) return $"size {Width}x{Height}: at most 4096 a side";
        if (Steps is < 1 or > 1000) return $"steps {Steps}: must be 1..1000";
        if (!double.IsFinite(CfgScale) || CfgScale < 0 || CfgScale > 100) return $"cfg scale {CfgScale}: must be 0..100";
        if (!double.IsFinite(Strength) || Strength is < 0 or > 1) return $"strength {Strength}: must be 0..1";
        if (Mask is not null && InitImage is null) return "an inpainting mask needs the init image it applies to";
        if (InitLatent is not null && (InitImage is not null || Mask is not null)) return "an init latent replaces the init image; it takes no image or mask";
        if (MaskedStart != MaskedLatentStart.Original && Mask is null) return $"masked content {MaskedStart} needs an inpainting mask";
        if (PreviewEvery < 0) return $"preview interval {PreviewEvery}: must be 0 (none) or a number of steps";
        return null;
    }
}

/// <summary>What the masked latent cells of an inpainting generation start from.</summary>
public enum MaskedLatentStart
{
    /// <summary>The init image's own latent (A1111 "original", and "fill" after the pixels were filled).</summary>
    Original,
    /// <summary>Fresh unit Gaussian noise, drawn from the seed (A1111 "latent noise").</summary>
    Noise,
    /// <summary>Zeros (A1111 "latent nothing").</summary>
    Zero,
}

/// <summary>Time of one executed step: inside ONNX Runtime runs and everything else.</summary>
public readonly record struct StepTiming(TimeSpan InModel, TimeSpan Outside);

/// <summary>Progress after each step; <paramref name="Preview"/> is the decoded latent on the steps previews were asked for.</summary>
public readonly record struct StepProgress(int Step, int Steps, RgbImage? Preview = null);

/// <summary>What a generation produced: the image, and the final latent [1,4,h,w] before decoding.</summary>
public sealed record GenerationResult(RgbImage Image, uint Seed, float[] FinalLatent, IReadOnlyList<StepTiming> Timings,
    TimeSpan TextEncoding, TimeSpan Decoding)
{
    /// <summary>The decoded image before an inpainting blend (the same as <see cref="Image"/> without a mask): what
    /// a caller that pastes a crop back into a larger image blends, once, with its own mask.</summary>
    public RgbImage Decoded { get; init; } = Image;

    /// <summary>Interrupted: the steps run before the loop stopped (the image is the latent decoded then); null when complete.</summary>
    public int? StoppedAfter { get; init; }
}
