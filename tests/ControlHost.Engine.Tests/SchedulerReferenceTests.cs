using System.Text.Json;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Engine.Tests;

/// <summary>
/// The samplers against values computed outside the engine: tools/scheduler_reference.py, a pure-Python version of
/// the published definitions (k-diffusion's discrete and Karras schedules, Euler, DPM++ 2M, DDIM), with a fixed
/// analytic stand-in for the model so every step of the trajectory counts.
/// </summary>
public class SchedulerReferenceTests
{
    private static readonly JsonElement Reference =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "fixtures", "schedulers", "reference.json"))).RootElement;

    private static double[] Array(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    private static readonly NoiseSchedule Sd = new();

    [Fact]
    public void Discrete_schedule_timesteps_and_first_sigma_match_the_reference()
    {
        var steps = Reference.GetProperty("steps").GetInt32();
        var euler = Samplers.Create(SamplerId.Euler, Sd);
        euler.SetTimesteps(steps);
        var expected = Array(Reference.GetProperty("discrete").GetProperty("timesteps"));
        for (var i = 0; i < steps; i++) Assert.Equal(expected[i], euler.Timesteps[i], 6);
        Assert.Equal(Array(Reference.GetProperty("discrete").GetProperty("sigmas"))[0], euler.InitNoiseSigma, 9);
        var karras = Samplers.Create(SamplerId.DpmPlusPlus2MKarras, Sd);
        karras.SetTimesteps(steps);
        Assert.Equal(Array(Reference.GetProperty("karras").GetProperty("sigmas"))[0], karras.InitNoiseSigma, 9);
        var ddim = Samplers.Create(SamplerId.Ddim, Sd);
        ddim.SetTimesteps(steps);
        Assert.Equal(Array(Reference.GetProperty("ddim_timesteps")), ddim.Timesteps);
    }

    [Theory]
    [InlineData(SamplerId.Euler, "Euler", "final")]
    [InlineData(SamplerId.DpmPlusPlus2M, "DPM++ 2M", "final")]
    [InlineData(SamplerId.DpmPlusPlus2MKarras, "DPM++ 2M Karras", "final")]
    [InlineData(SamplerId.Ddim, "DDIM", "final")]
    [InlineData(SamplerId.UniPc, "UniPC", "final")]
    // The same stand-in read as a velocity (v-prediction, SD 2.x 768-v models).
    [InlineData(SamplerId.Euler, "Euler", "final_v")]
    [InlineData(SamplerId.DpmPlusPlus2M, "DPM++ 2M", "final_v")]
    [InlineData(SamplerId.DpmPlusPlus2MKarras, "DPM++ 2M Karras", "final_v")]
    [InlineData(SamplerId.Ddim, "DDIM", "final_v")]
    [InlineData(SamplerId.UniPc, "UniPC", "final_v")]
    public void A_whole_trajectory_matches_the_reference(SamplerId id, string key, string prediction)
    {
        var steps = Reference.GetProperty("steps").GetInt32();
        var scheduler = Samplers.Create(id, prediction == "final" ? Sd : new NoiseSchedule(prediction: PredictionType.VPrediction));
        scheduler.SetTimesteps(steps);
        var x = Array(Reference.GetProperty("x0")).Select(v => (float)(v * scheduler.InitNoiseSigma)).ToArray();
        var scaled = new float[x.Length];
        var rng = new NoiseGenerator(0);
        for (var step = 0; step < steps; step++)
        {
            scheduler.ScaleModelInput(x, scaled, step);
            // The reference's stand-in model: eps = 0.3 x + 0.1 sin(step + i).
            var eps = scaled.Select((v, i) => (float)(0.3 * v + 0.1 * Math.Sin(step + i))).ToArray();
            scheduler.Step(eps, step, x, rng);
        }
        var expected = Array(Reference.GetProperty(prediction).GetProperty(key));
        for (var i = 0; i < x.Length; i++)
            Assert.True(Math.Abs(x[i] - expected[i]) < 1e-4 * Math.Max(1, Math.Abs(expected[i])), $"{key} ({prediction}) x[{i}] = {x[i]}, reference {expected[i]}");
    }

    [Fact]
    public void Lcm_jumps_to_the_clean_estimate_and_noises_it_to_the_next_sigma()
    {
        var steps = Reference.GetProperty("steps").GetInt32();
        var lcm = Samplers.Create(SamplerId.Lcm, Sd);
        lcm.SetTimesteps(steps);
        var sigmas = Array(Reference.GetProperty("discrete").GetProperty("sigmas"));
        var x = Array(Reference.GetProperty("x0")).Select(v => (float)(v * lcm.InitNoiseSigma)).ToArray();
        var (rng, twin) = (new NoiseGenerator(7), new NoiseGenerator(7));
        var scaled = new float[x.Length];
        for (var step = 0; step < steps; step++)
        {
            lcm.ScaleModelInput(x, scaled, step);
            var eps = scaled.Select((v, i) => (float)(0.3 * v + 0.1 * Math.Sin(step + i))).ToArray();
            // k-diffusion's sample_lcm: x <- denoised, then + sigma_next * fresh noise unless sigma_next is 0.
            var expected = x.Select((v, i) => v - sigmas[step] * eps[i]).ToArray();
            if (sigmas[step + 1] > 0) expected = expected.Select(v => v + twin.NextNormal() * sigmas[step + 1]).ToArray();
            lcm.Step(eps, step, x, rng);
            for (var i = 0; i < x.Length; i++) Assert.Equal(expected[i], x[i], 3);
        }
    }
}
