namespace ControlHost.Engine.Scheduling;

/// <summary>
/// LCM, as A1111 and k-diffusion sample it for latent consistency models (Luo et al. 2023): each step jumps to the
/// model's clean estimate and, unless it is the last, noises that estimate afresh to the next sigma. Meant for
/// LCM-distilled weights or LoRAs at 4-8 steps and guidance 1-2; with other weights it gives soft images.
/// </summary>
public sealed class LcmScheduler(NoiseSchedule schedule) : SigmaScheduler(schedule)
{
    public override SamplerId Id => SamplerId.Lcm;

    public override void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise)
    {
        double sigma = Sigmas[step], next = Sigmas[step + 1];
        for (var i = 0; i < sample.Length; i++) sample[i] = (float)Denoised(sample[i], modelOutput[i], sigma);
        if (next > 0)
            for (var i = 0; i < sample.Length; i++) sample[i] += (float)(noise.NextNormal() * next);
    }
}
