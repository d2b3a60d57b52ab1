namespace ControlHost.Engine.Scheduling;

/// <summary>
/// One sampler. Steps are indexed 0..StepCount-1; "level i" is the noise level of the latent that step i takes
/// (level StepCount is clean).
/// </summary>
public interface IScheduler
{
    /// <summary>Which sampler this is.</summary>
    SamplerId Id { get; }

    /// <summary>Prepares a schedule of <paramref name="steps"/> steps.</summary>
    void SetTimesteps(int steps);

    int StepCount { get; }

    /// <summary>The timestep the model is given at each step.</summary>
    IReadOnlyList<double> Timesteps { get; }

    /// <summary>What pure noise is multiplied by to start a txt2img generation.</summary>
    double InitNoiseSigma { get; }

    /// <summary>Writes the UNet's input for step <paramref name="step"/> (the latent, scaled where the sampler needs it).</summary>
    void ScaleModelInput(ReadOnlySpan<float> sample, Span<float> destination, int step);

    /// <summary>Advances <paramref name="sample"/> in place from level <paramref name="step"/> to the next level.</summary>
    void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise);

    /// <summary>The model's estimate of the clean latent at step <paramref name="step"/> from its output there.</summary>
    void Denoised(ReadOnlySpan<float> modelOutput, int step, ReadOnlySpan<float> sample, Span<float> denoised);

    /// <summary>The inverse of <see cref="Denoised"/>: the model output that estimates <paramref name="denoised"/>
    /// (for corrections made to the clean estimate, such as the tile colour fix).</summary>
    void ModelOutputFor(ReadOnlySpan<float> denoised, int step, ReadOnlySpan<float> sample, Span<float> modelOutput);

    /// <summary>Noises a clean latent to level <paramref name="level"/> (0..StepCount): img2img starts, masks.</summary>
    void AddNoise(ReadOnlySpan<float> clean, ReadOnlySpan<float> noise, int level, Span<float> destination);
}
