namespace ControlHost.Engine.Scheduling;

/// <summary>
/// DPM-Solver++(2M): a second-order multistep solver in t = -log(sigma) that reuses the previous denoised
/// estimate. With <c>karras</c>, sigmas follow Karras et al. (2022) with rho = 7 between the model's sigma range.
/// </summary>
public sealed class DpmPlusPlus2MScheduler(NoiseSchedule schedule, bool karras) : SigmaScheduler(schedule)
{
    private const double KarrasRho = 7.0;
    private float[] _denoised = [];
    private float[] _previousDenoised = [];
    private bool _havePrevious;

    public override SamplerId Id => karras ? SamplerId.DpmPlusPlus2MKarras : SamplerId.DpmPlusPlus2M;

    /// <summary>Karras et al. (2022), eq. 5: sigma_i = (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho.</summary>
    public static double[] KarrasSigmas(int steps, double sigmaMin, double sigmaMax, double rho = KarrasRho)
    {
        var (a, b) = (Math.Pow(sigmaMax, 1 / rho), Math.Pow(sigmaMin, 1 / rho));
        return Enumerable.Range(0, steps)
            .Select(i => Math.Pow(a + (steps == 1 ? 0 : (double)i / (steps - 1)) * (b - a), rho)).ToArray();
    }

    protected override double[] StepSigmas(int steps) =>
        karras ? KarrasSigmas(steps, Schedule.SigmaMin, Schedule.SigmaMax) : base.StepSigmas(steps);

    protected override void OnSetTimesteps() => _havePrevious = false;

    public override void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise)
    {
        double sigma = Sigmas[step], next = Sigmas[step + 1];
        if (_denoised.Length != sample.Length)
        {
            _denoised = new float[sample.Length];
            _previousDenoised = new float[sample.Length];
            _havePrevious = false;
        }
        var denoised = _denoised;
        for (var i = 0; i < sample.Length; i++) denoised[i] = (float)Denoised(sample[i], modelOutput[i], sigma);
        if (next == 0)
        {
            denoised.CopyTo(sample);
        }
        else
        {
            double t = -Math.Log(sigma), tNext = -Math.Log(next), h = tNext - t;
            var ratio = next / sigma;
            var mix = 1 - Math.Exp(-h); // -expm1(-h); h is never tiny here, so no precision is lost
            if (!_havePrevious || step == 0)
            {
                for (var i = 0; i < sample.Length; i++) sample[i] = (float)(ratio * sample[i] + mix * denoised[i]);
            }
            else
            {
                var hLast = t + Math.Log(Sigmas[step - 1]);
                var r = hLast / h;
                double c1 = 1 + 1 / (2 * r), c0 = 1 / (2 * r);
                for (var i = 0; i < sample.Length; i++)
                    sample[i] = (float)(ratio * sample[i] + mix * (c1 * denoised[i] - c0 * _previousDenoised[i]));
            }
        }
        // Keep this step's estimate for the next one; swap buffers instead of allocating.
        (_previousDenoised, _denoised) = (_denoised, _previousDenoised);
        _havePrevious = true;
    }
}
