using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Engine.Tests;

public class SchedulerTests
{
    private static readonly NoiseSchedule Sd = new();

    [Fact]
    public void Scaled_linear_schedule_matches_published_sd_values()
    {
        // First alpha_bar is 1 - beta_start; SD 1.x's sigma range as k-diffusion reports it: 0.0292 .. 14.6146.
        Assert.Equal(1 - 0.00085, Sd.AlphasCumprod[0], 12);
        Assert.Equal(0.0292, Sd.SigmaMin, 4);
        Assert.Equal(14.6146, Sd.SigmaMax, 3);
        Assert.Equal(0.0047, Sd.AlphasCumprod[999], 4);
    }

    [Fact]
    public void Sigma_and_timestep_interpolation_are_inverse()
    {
        foreach (var t in new[] { 0.0, 10.5, 500.0, 998.25, 999.0 })
            Assert.Equal(t, Sd.TimestepOf(Sd.SigmaAt(t)), 6);
    }

    [Fact]
    public void Ddim_uses_leading_spacing_with_steps_offset()
    {
        var ddim = new DdimScheduler(Sd);
        ddim.SetTimesteps(20);
        Assert.Equal(Enumerable.Range(0, 20).Reverse().Select(i => i * 50.0 + 1), ddim.Timesteps);
    }

    [Fact]
    public void One_ddim_step_on_known_tensors()
    {
        var ddim = new DdimScheduler(Sd);
        ddim.SetTimesteps(20);
        float[] sample = [1f, -0.5f], eps = [0.5f, 0.25f];
        double a = Sd.AlphasCumprod[951], ap = Sd.AlphasCumprod[901];
        var expected = sample.Select((x, i) =>
        {
            var x0 = (x - Math.Sqrt(1 - a) * eps[i]) / Math.Sqrt(a);
            return Math.Sqrt(ap) * x0 + Math.Sqrt(1 - ap) * eps[i];
        }).ToArray();
        ddim.Step(eps, 0, sample, new NoiseGenerator(1));
        Assert.Equal(expected[0], sample[0], 5);
        Assert.Equal(expected[1], sample[1], 5);
    }

    [Fact]
    public void Karras_sigmas_follow_the_formula()
    {
        var s = DpmPlusPlus2MScheduler.KarrasSigmas(5, 0.0292, 14.6146);
        Assert.Equal(14.6146, s[0], 9);
        Assert.Equal(0.0292, s[^1], 9);
        // midpoint: ((max^(1/7) + min^(1/7)) / 2)^7
        Assert.Equal(Math.Pow((Math.Pow(14.6146, 1 / 7.0) + Math.Pow(0.0292, 1 / 7.0)) / 2, 7), s[2], 9);
        Assert.True(s.Zip(s.Skip(1)).All(p => p.First > p.Second));
    }

    [Fact]
    public void Euler_schedule_starts_at_sigma_max_and_ends_at_zero()
    {
        var euler = new EulerScheduler(Sd);
        euler.SetTimesteps(10);
        Assert.Equal(Sd.SigmaMax, euler.InitNoiseSigma, 6);
        Assert.Equal(999, euler.Timesteps[0], 6);
        Assert.Equal(0, euler.Timesteps[^1], 6);
    }

    /// <summary>
    /// A model whose clean estimate is always D: every ODE sampler here must land exactly on D, because
    /// x(sigma) = D + (x - D) sigma / sigma_start is their exact solution and they are exact for it.
    /// </summary>
    [Theory]
    [InlineData("Euler")]
    [InlineData("DPM++ 2M")]
    [InlineData("DPM++ 2M Karras")]
    [InlineData("DDIM")]
    public void Samplers_reach_a_constant_clean_estimate(string name)
    {
        var scheduler = Samplers.Create(SamplerNames.TryParse(name)!.Value, Sd);
        scheduler.SetTimesteps(12);
        var rng = new NoiseGenerator(7);
        float[] target = [0.3f, -1.2f, 2f];
        var x = rng.Normal(3).Select(v => (float)(v * scheduler.InitNoiseSigma)).ToArray();
        var input = new float[3];
        for (var step = 0; step < scheduler.StepCount; step++)
        {
            scheduler.ScaleModelInput(x, input, step);
            var eps = EpsilonFor(scheduler, step, x, target);
            scheduler.Step(eps, step, x, rng);
        }
        // DDIM ends at alpha_bar[0] (set_alpha_to_one = false), a hair from clean.
        var tolerance = name == "DDIM" ? 0.05 : 1e-4;
        for (var i = 0; i < 3; i++) Assert.InRange(x[i], target[i] - tolerance, target[i] + tolerance);
    }

    [Fact]
    public void Euler_ancestral_adds_fresh_noise_and_is_reproducible()
    {
        float[] Run(uint seed)
        {
            var s = Samplers.Create(SamplerId.EulerAncestral, Sd);
            s.SetTimesteps(8);
            var rng = new NoiseGenerator(seed);
            var x = rng.Normal(16).Select(v => (float)(v * s.InitNoiseSigma)).ToArray();
            for (var step = 0; step < s.StepCount; step++) s.Step(EpsilonFor(s, step, x, new float[16]), step, x, rng);
            return x;
        }
        Assert.Equal(Run(3), Run(3));
        Assert.NotEqual(Run(3), Run(4));
        // A model that says "clean is 0" still leaves noise behind only through sigma_up, which ends at 0.
        Assert.All(Run(3), v => Assert.InRange(v, -1e-3f, 1e-3f));
    }

    [Theory]
    [InlineData("euler_a", "Euler a")]
    [InlineData("EULER A", "Euler a")]
    [InlineData("k_dpmpp_2m", "DPM++ 2M")]
    [InlineData("DPM++ 2M Karras", "DPM++ 2M Karras")]
    public void A1111_and_api_sampler_names_resolve(string given, string canonical) =>
        Assert.Equal(canonical, SamplerNames.Format(SamplerNames.TryParse(given)!.Value));

    [Fact]
    public void Unknown_sampler_is_refused_with_the_known_names()
    {
        Assert.Null(SamplerNames.TryParse("Heun++"));
        var e = Assert.Throws<NotFoundException>(() => GenerationPolicy.Request(new GenerationJob { Sampler = "Heun++" },
            Models.ModelFolder.Open(RepoPaths.TinySd)));
        Assert.Equal("sampler_name", e.Field);
        Assert.Contains("Heun++", e.Message);
        Assert.Contains("Euler a", e.Message);
    }

    [Fact]
    public void Add_noise_at_the_last_level_is_the_clean_latent()
    {
        foreach (var id in Samplers.All)
        {
            var s = Samplers.Create(id, Sd);
            s.SetTimesteps(10);
            float[] clean = [1, 2, 3], noise = [5, 5, 5], dest = new float[3];
            s.AddNoise(clean, noise, 10, dest);
            Assert.Equal(clean, dest);
        }
    }

    /// <summary>The epsilon that makes the sampler's clean estimate equal <paramref name="target"/>.</summary>
    private static float[] EpsilonFor(IScheduler scheduler, int step, float[] x, float[] target)
    {
        if (scheduler is DdimScheduler)
        {
            var a = Sd.AlphasCumprod[(int)scheduler.Timesteps[step]];
            return x.Select((v, i) => (float)((v - Math.Sqrt(a) * target[i]) / Math.Sqrt(1 - a))).ToArray();
        }
        var sigma = Sd.SigmaAt(scheduler.Timesteps[step]);
        return x.Select((v, i) => (float)((v - target[i]) / sigma)).ToArray();
    }
}
