namespace ControlHost.Engine.Scheduling;

/// <summary>
/// UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of Diffusion Models"):
/// a multistep predictor (UniP) on the data prediction, and a corrector (UniC) that refines each new latent with the
/// model output the next step evaluates there anyway, so the correction costs no model call. Order 2 with the B(h) =
/// e^h - 1 variant ("bh2") and first order at the first and the last step, as diffusers' UniPCMultistepScheduler
/// sets it up for SD; the sigmas are the k-diffusion discrete schedule of the other samplers. Written in the
/// k-diffusion form (x = x0 + sigma * noise, lambda = -log sigma), where the paper's alpha is 1.
/// </summary>
public sealed class UniPcScheduler(NoiseSchedule schedule) : SigmaScheduler(schedule)
{
    private const int Order = 2;

    // The data predictions (denoised estimates) of the last three steps, rotated, never reallocated in a generation;
    // and the latent the last predictor started from, with the order it used.
    private float[] _m = [], _m1 = [], _m2 = [], _lastSample = [];
    private int _lastOrder;

    public override SamplerId Id => SamplerId.UniPc;

    protected override void OnSetTimesteps() => _lastOrder = 0;

    private double Lambda(int step) => -Math.Log(Sigmas[step]);

    public override void Step(ReadOnlySpan<float> modelOutput, int step, Span<float> sample, NoiseGenerator noise)
    {
        if (_m.Length != sample.Length)
        {
            (_m, _m1, _m2, _lastSample) = (new float[sample.Length], new float[sample.Length], new float[sample.Length], new float[sample.Length]);
            _lastOrder = 0;
        }
        (_m2, _m1, _m) = (_m1, _m, _m2);
        var sigma = Sigmas[step];
        for (var i = 0; i < sample.Length; i++) _m[i] = (float)Denoised(sample[i], modelOutput[i], sigma);
        if (step > 0 && _lastOrder > 0) Correct(step, sample);

        var order = Math.Min(Math.Min(Order, step + 1), StepCount - step);
        sample.CopyTo(_lastSample);
        _lastOrder = order;
        var next = Sigmas[step + 1];
        if (next == 0)
        {
            _m.CopyTo(sample);
            return;
        }
        var h = -Math.Log(next) - Lambda(step);
        var phi1 = double.ExpM1(-h); // B(h) of bh2 is the same number
        var ratio = next / sigma;
        // UniP: order 1 is DPM-Solver++'s first-order step; order 2 adds half the scaled difference to the previous estimate.
        var r = order == 2 ? (Lambda(step - 1) - Lambda(step)) / h : 1;
        for (var i = 0; i < sample.Length; i++)
        {
            var x = ratio * sample[i] - phi1 * _m[i];
            if (order == 2) x -= phi1 * 0.5 * (_m1[i] - _m[i]) / r;
            sample[i] = (float)x;
        }
    }

    /// <summary>UniC: redo the last step's update from the latent it started at, now that this step's estimate is known.</summary>
    private void Correct(int step, Span<float> sample)
    {
        // The last step went from level step-1 (estimate m1) to level step (estimate m); m2 is from level step-2.
        var h = Lambda(step) - Lambda(step - 1);
        var hh = -h;
        var phi1 = double.ExpM1(hh);
        var bh = phi1;
        var ratio = Sigmas[step] / Sigmas[step - 1];
        double rhoOld, rhoNew, r;
        if (_lastOrder == 1)
        {
            (rhoOld, rhoNew, r) = (0, 0.5, 1);
        }
        else
        {
            // The 2x2 system [1 1; r 1] rho = b over the differences to the older estimate (at r) and to the new one (at 1).
            r = (Lambda(step - 2) - Lambda(step - 1)) / h;
            var phi = phi1 / hh - 1;
            var b0 = phi / bh;
            phi = phi / hh - 0.5;
            var b1 = phi * 2 / bh;
            rhoOld = (b0 - b1) / (1 - r);
            rhoNew = b0 - rhoOld;
        }
        for (var i = 0; i < sample.Length; i++)
        {
            var x = ratio * _lastSample[i] - phi1 * _m1[i] - bh * rhoNew * (_m[i] - _m1[i]);
            if (_lastOrder == 2) x -= bh * rhoOld * (_m2[i] - _m1[i]) / r;
            sample[i] = (float)x;
        }
    }
}
