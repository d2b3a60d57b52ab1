namespace ControlHost.Engine.Scheduling;

/// <summary>Euler's method on the probability-flow ODE: x += (sigma_next - sigma) * (x - denoised) / sigma.</summary>
public sealed class EulerScheduler(NoiseSchedule schedule) : SigmaScheduler(schedule)
{
    public override SamplerId Id => SamplerId.Euler;

    public override void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise)
    {
        double sigma = Sigmas[step], next = Sigmas[step + 1];
        for (var i = 0; i < sample.Length; i++)
        {
            var d = (sample[i] - Denoised(sample[i], modelOutput[i], sigma)) / sigma;
            sample[i] = (float)(sample[i] + (next - sigma) * d);
        }
    }
}
