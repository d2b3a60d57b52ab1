namespace ControlHost.Engine.Scheduling;

/// <summary>
/// Euler ancestral (eta 1): step down to sigma_down, then add fresh noise of size sigma_up, where
/// sigma_up = sqrt(next^2 (sigma^2 - next^2) / sigma^2) and sigma_down = sqrt(next^2 - sigma_up^2).
/// </summary>
public sealed class EulerAncestralScheduler(NoiseSchedule schedule) : SigmaScheduler(schedule)
{
    public override SamplerId Id => SamplerId.EulerAncestral;

    public override void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise)
    {
        double sigma = Sigmas[step], next = Sigmas[step + 1];
        var up = Math.Sqrt(next * next * (sigma * sigma - next * next) / (sigma * sigma));
        var down = Math.Sqrt(next * next - up * up);
        for (var i = 0; i < sample.Length; i++)
        {
            var d = (sample[i] - Denoised(sample[i], modelOutput[i], sigma)) / sigma;
            sample[i] = (float)(sample[i] + (down - sigma) * d);
        }
        if (up > 0)
            for (var i = 0; i < sample.Length; i++) sample[i] += (float)(noise.NextNormal() * up);
    }
}
