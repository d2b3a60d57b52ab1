namespace ControlHost.Engine.Scheduling;

/// <summary>
/// DDIM with eta 0 (deterministic), "leading" timestep spacing plus steps_offset as SD 1.x configures it, and the
/// final alpha taken from timestep 0 (set_alpha_to_one = false).
/// </summary>
public sealed class DdimScheduler(NoiseSchedule schedule) : IScheduler
{
    private int[] _timesteps = [];
    private double[] _modelTimesteps = [];
    private int _ratio;

    public SamplerId Id => SamplerId.Ddim;
    public int StepCount => _timesteps.Length;
    public IReadOnlyList<double> Timesteps => _modelTimesteps;
    public double InitNoiseSigma => 1.0;

    public void SetTimesteps(int steps)
    {
        SchedulerGuards.CheckSteps(steps, schedule);
        _ratio = schedule.TrainTimesteps / steps;
        _timesteps = Enumerable.Range(0, steps).Reverse()
            .Select(i => Math.Min(i * _ratio + schedule.StepsOffset, schedule.TrainTimesteps - 1)).ToArray();
        _modelTimesteps = _timesteps.Select(t => (double)t).ToArray();
    }

    public void ScaleModelInput(ReadOnlySpan<float> sample, Span<float> destination, int step) => sample.CopyTo(destination);

    public void Denoised(ReadOnlySpan<float> modelOutput, int step, ReadOnlySpan<float> sample, Span<float> denoised)
    {
        var alpha = schedule.AlphasCumprod[_timesteps[step]];
        var (sa, sb) = (Math.Sqrt(alpha), Math.Sqrt(1 - alpha));
        for (var i = 0; i < sample.Length; i++)
            denoised[i] = schedule.Prediction == PredictionType.Epsilon
                ? (float)((sample[i] - sb * modelOutput[i]) / sa)
                : (float)(sa * sample[i] - sb * modelOutput[i]);
    }

    public void ModelOutputFor(ReadOnlySpan<float> denoised, int step, ReadOnlySpan<float> sample, Span<float> modelOutput)
    {
        var alpha = schedule.AlphasCumprod[_timesteps[step]];
        var (sa, sb) = (Math.Sqrt(alpha), Math.Sqrt(1 - alpha));
        for (var i = 0; i < sample.Length; i++)
            modelOutput[i] = schedule.Prediction == PredictionType.Epsilon
                ? (float)((sample[i] - sa * denoised[i]) / sb)
                : (float)((sa * sample[i] - denoised[i]) / sb);
    }

    public void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise)
    {
        var t = _timesteps[step];
        var alpha = schedule.AlphasCumprod[t];
        var prev = t - _ratio;
        var alphaPrev = prev >= 0 ? schedule.AlphasCumprod[prev] : schedule.AlphasCumprod[0];
        var (sa, sb) = (Math.Sqrt(alpha), Math.Sqrt(1 - alpha));
        var (pa, pb) = (Math.Sqrt(alphaPrev), Math.Sqrt(1 - alphaPrev));
        for (var i = 0; i < sample.Length; i++)
        {
            double x = sample[i], m = modelOutput[i], x0, eps;
            if (schedule.Prediction == PredictionType.Epsilon)
            {
                eps = m;
                x0 = (x - sb * eps) / sa;
            }
            else
            {
                x0 = sa * x - sb * m;
                eps = sa * m + sb * x;
            }
            sample[i] = (float)(pa * x0 + pb * eps);
        }
    }

    public void AddNoise(ReadOnlySpan<float> clean, ReadOnlySpan<float> noise, int level, Span<float> destination)
    {
        if (level >= _timesteps.Length)
        {
            clean.CopyTo(destination);
            return;
        }
        var alpha = schedule.AlphasCumprod[_timesteps[level]];
        var (a, b) = ((float)Math.Sqrt(alpha), (float)Math.Sqrt(1 - alpha));
        for (var i = 0; i < destination.Length; i++) destination[i] = a * clean[i] + b * noise[i];
    }
}
