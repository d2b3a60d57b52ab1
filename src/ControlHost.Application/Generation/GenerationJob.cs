using ControlHost.Abstractions;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Application.Generation;

/// <summary>
/// One generation request in the names users know (A1111's). A value left null is not given: the service's
/// policy fills it in (A1111's defaults, the model's recommended guidance and native size), and
/// <see cref="OverriddenBy"/> lets given values replace those of another job (an infotext read back).
/// </summary>
public sealed record GenerationJob
{
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Steps { get; init; }
    public double? CfgScale { get; init; }
    public string? Sampler { get; init; }

    /// <summary>0..4294967295, or -1 for a random one (reported in the result).</summary>
    public long? Seed { get; init; }

    /// <summary>Images per run (A1111's batch_size) and runs (n_iter); image k gets seed + k.</summary>
    public int? BatchSize { get; init; }
    public int? Iterations { get; init; }

    /// <summary>A base model by name (or folder, where the path policy allows); null is the default model.</summary>
    public string? Model { get; init; }

    public ImageSource? InitImage { get; init; }

    /// <summary>A mask image (white = generate) of the init image's size; the same as <see cref="Inpaint"/> with
    /// that mask image.</summary>
    public ImageSource? Mask { get; init; }

    /// <summary>Inpainting in A1111's terms: the region (mask image, box or polygon), blur, masked content, only
    /// masked with padding. The result keeps the init image's size.</summary>
    public Inpainting.InpaintSpec? Inpaint { get; init; }
    public double? Strength { get; init; }

    /// <summary>A1111's hires fix (txt2img only): a second, larger pass; null for none.</summary>
    public HiresSpec? Hires { get; init; }
    public IReadOnlyList<UnitSpec>? Units { get; init; }

    /// <summary>LoRAs by name with their weights (the CLI's --lora), beside those the prompt names with &lt;lora:NAME:W&gt;.</summary>
    public IReadOnlyList<UserModels.LoraSpec>? Loras { get; init; }

    /// <summary>Decode a preview every this many steps (0: none).</summary>
    public int PreviewEvery { get; init; }

    /// <summary>This job with every value <paramref name="given"/> sets replacing this one's.</summary>
    public GenerationJob OverriddenBy(GenerationJob given) => new()
    {
        Prompt = given.Prompt ?? Prompt, NegativePrompt = given.NegativePrompt ?? NegativePrompt,
        Width = given.Width ?? Width, Height = given.Height ?? Height, Steps = given.Steps ?? Steps,
        CfgScale = given.CfgScale ?? CfgScale, Sampler = given.Sampler ?? Sampler, Seed = given.Seed ?? Seed,
        BatchSize = given.BatchSize ?? BatchSize, Iterations = given.Iterations ?? Iterations, Model = given.Model ?? Model,
        InitImage = given.InitImage ?? InitImage, Mask = given.Mask ?? Mask, Strength = given.Strength ?? Strength,
        Inpaint = given.Inpaint ?? Inpaint, Hires = given.Hires ?? Hires,
        Units = given.Units is { Count: > 0 } ? given.Units : Units, Loras = given.Loras is { Count: > 0 } ? given.Loras : Loras, PreviewEvery = given.PreviewEvery != 0 ? given.PreviewEvery : PreviewEvery,
    };
}

/// <summary>One image of a job: its pixels, seed and infotext.</summary>
public sealed record GeneratedImage(RgbImage Image, uint Seed, string Infotext, GenerationResult Engine);

/// <summary>Where the time went, for the whole job.</summary>
/// <param name="Load">Resolving names, loading (or leasing) the model, reading images and preprocessing units.</param>
/// <param name="Total">From the call to the last image.</param>
public sealed record JobTimings(TimeSpan Load, TimeSpan Total);

/// <summary>What a job produced: images in seed order, warnings (disabled units, fallbacks, ignored values).</summary>
public sealed record GenerationOutput(IReadOnlyList<GeneratedImage> Images, IReadOnlyList<string> Warnings, string Model, JobTimings Timings)
{
    /// <summary>The hint each preprocessed unit gave its branch, in unit order, for units that asked for it
    /// (<see cref="Units.UnitSpec.ReturnMap"/>): the very pixels the generation used.</summary>
    public IReadOnlyList<RgbImage> DetectedMaps { get; init; } = [];

    /// <summary>The values the job ran with, its own or the policy's: what a repeat gives to get the same bytes.</summary>
    public EffectiveParameters? Effective { get; init; }
}

/// <summary>A generation's values as run: the policy's size, steps, guidance and sampler, and the first seed drawn.</summary>
public sealed record EffectiveParameters(int Width, int Height, int Steps, double CfgScale, string Sampler, uint Seed, int BatchSize, int Iterations, double? Strength);

/// <summary>Progress of a job: image i of n (1-based), step j of m within it, and a preview when one was asked for.</summary>
public readonly record struct GenerationProgress(int Image, int Images, int Step, int Steps, RgbImage? Preview);
