namespace ControlHost.Engine.Scheduling;

/// <summary>
/// The k-diffusion family (Euler, Euler a, DPM++): the latent lives at x = x0 + sigma * noise, the UNet sees
/// x / sqrt(sigma^2 + 1) at the timestep whose training sigma is sigma, and the last sigma is 0.
/// </summary>
public abstract class SigmaScheduler(NoiseSchedule schedule) : IScheduler
{
    protected NoiseSchedule Schedule { get; } = schedule;

    /// <summary>StepCount + 1 sigmas, the last 0.</summary>
    protected double[] Sigmas { get; private set; } = [];

    private double[] _timesteps = [];

    public abstract SamplerId Id { get; }
    public int StepCount => _timesteps.Length;
    public IReadOnlyList<double> Timesteps => _timesteps;
    public double InitNoiseSigma => Sigmas[0];

    /// <summary>The sigmas of the steps, before the final 0 is appended.</summary>
    protected virtual double[] StepSigmas(int steps)
    {
        // A1111 / k-diffusion "discrete" schedule: timesteps evenly spaced from the last to the first.
        var sigmas = new double[steps];
        var tMax = Schedule.TrainTimesteps - 1;
        for (var i = 0; i < steps; i++)
        {
            var t = steps == 1 ? tMax : tMax - (double)i * tMax / (steps - 1);
            sigmas[i] = Schedule.SigmaAt(t);
        }
        return sigmas;
    }

    public void SetTimesteps(int steps)
    {
        SchedulerGuards.CheckSteps(steps, Schedule);
        var s = StepSigmas(steps);
        Sigmas = [.. s, 0.0];
        _timesteps = s.Select(Schedule.TimestepOf).ToArray();
        OnSetTimesteps();
    }

    protected virtual void OnSetTimesteps() { }

    public void ScaleModelInput(ReadOnlySpan<float> sample, Span<float> destination, int step)
    {
        var c = (float)(1.0 / Math.Sqrt(Sigmas[step] * Sigmas[step] + 1));
        for (var i = 0; i < sample.Length; i++) destination[i] = sample[i] * c;
    }

    /// <summary>The model's estimate of the clean latent at this step.</summary>
    protected double Denoised(double x, double modelOutput, double sigma)
    {
        if (Schedule.Prediction == PredictionType.Epsilon) return x - sigma * modelOutput;
        var s2 = sigma * sigma + 1;
        return x / s2 - modelOutput * sigma / Math.Sqrt(s2);
    }

    public void Denoised(ReadOnlySpan<float> modelOutput, int step, ReadOnlySpan<float> sample, Span<float> denoised)
    {
        var sigma = Sigmas[step];
        for (var i = 0; i < sample.Length; i++) denoised[i] = (float)Denoised(sample[i], modelOutput[i], sigma);
    }

    public void ModelOutputFor(ReadOnlySpan<float> denoised, int step, ReadOnlySpan<float> sample, Span<float> modelOutput)
    {
        var sigma = Sigmas[step];
        var s2 = sigma * sigma + 1;
        for (var i = 0; i < sample.Length; i++)
            modelOutput[i] = Schedule.Prediction == PredictionType.Epsilon
                ? (float)((sample[i] - denoised[i]) / sigma)
                : (float)((sample[i] / s2 - denoised[i]) * Math.Sqrt(s2) / sigma);
    }

    public abstract void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise);

    public void AddNoise(ReadOnlySpan<float> clean, ReadOnlySpan<float> noise, int level, Span<float> destination)
    {
        var sigma = (float)Sigmas[Math.Min(level, Sigmas.Length - 1)];
        for (var i = 0; i < destination.Length; i++) destination[i] = clean[i] + sigma * noise[i];
    }
}
