using ControlHost.Application.Errors;
using ControlHost.Application.Names;
using ControlHost.Engine.Models;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Application.Generation;

/// <summary>
/// The defaults and rules of a job, each in one place: A1111's defaults where it has them (20 steps, guidance 7,
/// Euler a, strength 0.75, batch 1 x 1), the model's recommended guidance (controlhost.json cfg_scale) before
/// A1111's, the model's native size, and seeds (-1 picks one; image k of a job gets seed + k, as A1111 does).
/// </summary>
public static class GenerationPolicy
{
    public const int DefaultSteps = 20;
    public const double DefaultCfgScale = 7.0;
    public const double DefaultStrength = 0.75;

    /// <summary>The guidance a job runs at: the job's, else the model's recommendation, else A1111's 7.</summary>
    public static double CfgScale(GenerationJob job, ModelFolder model) => job.CfgScale ?? model.RecommendedCfg ?? DefaultCfgScale;

    /// <summary>The first seed of a job: the job's, or a random one for -1 (or none).</summary>
    public static uint FirstSeed(long? seed)
    {
        var s = seed ?? -1;
        if (s < -1 || s > uint.MaxValue) throw new BadInputException("seed", $"seed {s}: must be -1 (random) or 0..{uint.MaxValue}");
        return s == -1 ? (uint)Random.Shared.NextInt64(0, (long)uint.MaxValue + 1) : (uint)s;
    }

    /// <summary>Image <paramref name="k"/>'s seed (wrapping at 2^32 like an unsigned add).</summary>
    public static uint SeedOf(uint first, int k) => unchecked(first + (uint)k);

    /// <summary>batch_size and n_iter, checked.</summary>
    public static (int BatchSize, int Iterations) Batches(GenerationJob job, int maxImages)
    {
        var batch = job.BatchSize ?? 1;
        var iterations = job.Iterations ?? 1;
        if (batch < 1) throw new BadInputException("batch_size", $"batch_size {batch}: must be at least 1");
        if (iterations < 1) throw new BadInputException("n_iter", $"n_iter {iterations}: must be at least 1");
        if ((long)batch * iterations > maxImages)
            throw new BadInputException("batch_size", $"batch_size {batch} x n_iter {iterations} asks for more than {maxImages} images");
        return (batch, iterations);
    }

    /// <summary>The engine request for a job's first image (seed and images filled in by the service).</summary>
    public static GenerationRequest Request(GenerationJob job, ModelFolder model)
    {
        var samplerName = job.Sampler ?? SamplerNames.Default;
        var sampler = SamplerNames.TryParse(samplerName)
            ?? throw new NotFoundException("sampler_name", $"unknown sampler '{samplerName}' (known: {string.Join(", ", SamplerNames.Names)})", SamplerNames.Names);
        var request = new GenerationRequest
        {
            Prompt = job.Prompt ?? "",
            NegativePrompt = job.NegativePrompt ?? "",
            Width = job.Width ?? model.NativeSize,
            Height = job.Height ?? model.NativeSize,
            Steps = job.Steps ?? DefaultSteps,
            CfgScale = CfgScale(job, model),
            Sampler = sampler,
            Strength = job.Strength ?? DefaultStrength,
            PreviewEvery = job.PreviewEvery,
        };
        if (request.Validate() is { } problem) throw new BadInputException(null, problem);
        return request;
    }
}
