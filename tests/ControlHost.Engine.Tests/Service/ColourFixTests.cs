using ControlHost.Abstractions;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Engine.Tests.Service;

/// <summary>sd-webui-controlnet's tile_colorfix (issue 25): the estimate's colours held to the hint's during sampling.</summary>
public class ColourFixTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    public static TheoryData<SamplerId, PredictionType> Samplers()
    {
        var data = new TheoryData<SamplerId, PredictionType>();
        foreach (var id in Scheduling.Samplers.All)
            foreach (var p in new[] { PredictionType.Epsilon, PredictionType.VPrediction }) data.Add(id, p);
        return data;
    }

    [Theory]
    [MemberData(nameof(Samplers))]
    public void The_model_output_for_an_estimate_is_the_inverse_of_the_estimate(SamplerId id, PredictionType prediction)
    {
        var scheduler = Scheduling.Samplers.Create(id, new NoiseSchedule(prediction: prediction));
        scheduler.SetTimesteps(10);
        var random = new Random(5);
        var sample = Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() * 8 - 4)).ToArray();
        var output = Enumerable.Range(0, 64).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        foreach (var step in new[] { 0, 4, 9 })
        {
            var estimate = new float[64];
            var back = new float[64];
            scheduler.Denoised(output, step, sample, estimate);
            scheduler.ModelOutputFor(estimate, step, sample, back);
            for (var i = 0; i < 64; i++) Assert.Equal(output[i], back[i], 3e-3f);
        }
    }

    [Theory]
    [InlineData(PredictionType.Epsilon)]
    [InlineData(PredictionType.VPrediction)]
    public void The_estimate_is_what_the_samplers_step_to(PredictionType prediction)
    {
        // LCM's last step lands on the model's estimate (the others noise it again).
        var schedule = new NoiseSchedule(prediction: prediction);
        var lcm = Scheduling.Samplers.Create(SamplerId.Lcm, schedule);
        lcm.SetTimesteps(4);
        var sample = new float[] { 1.5f, -0.5f, 3f, 0.25f };
        var output = new float[] { 0.3f, -1.2f, 0.8f, 0.05f };
        var estimate = new float[4];
        lcm.Denoised(output, 3, sample, estimate);
        var stepped = (float[])sample.Clone();
        lcm.Step(output, 3, stepped, new NoiseGenerator(1));
        Assert.Equal(estimate, stepped);
        // Epsilon by definition: x0 = x - sigma * eps in the sigma samplers' scale.
        if (prediction == PredictionType.Epsilon)
        {
            var euler = Scheduling.Samplers.Create(SamplerId.Euler, schedule);
            euler.SetTimesteps(4);
            euler.Denoised(output, 0, sample, estimate);
            var sigma = schedule.SigmaAt(euler.Timesteps[0]);
            for (var i = 0; i < 4; i++) Assert.Equal(sample[i] - sigma * output[i], estimate[i], 1e-3);
        }
    }

    [Fact]
    public void The_blur_is_a_box_average_with_the_edges_repeated()
    {
        const int h = 5, w = 7, k = 2;
        var random = new Random(2);
        var plane = Enumerable.Range(0, 2 * h * w).Select(_ => (float)random.NextDouble()).ToArray();
        var blurred = ColourFix.Blur(plane, 2, h, w, k);
        for (var c = 0; c < 2; c++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    double sum = 0;
                    for (var dy = -k; dy <= k; dy++)
                        for (var dx = -k; dx <= k; dx++)
                            sum += plane[c * h * w + Math.Clamp(y + dy, 0, h - 1) * w + Math.Clamp(x + dx, 0, w - 1)];
                    Assert.Equal(sum / 25, blurred[c * h * w + y * w + x], 4);
                }
    }

    private static (double R, double G, double B) Mean(RgbImage image)
    {
        double r = 0, g = 0, b = 0;
        for (var i = 0; i < image.Pixels.Length; i += 3) (r, g, b) = (r + image.Pixels[i], g + image.Pixels[i + 1], b + image.Pixels[i + 2]);
        var n = image.Pixels.Length / 3.0;
        return (r / n, g / n, b / n);
    }

    private RgbImage Generate(string module, RgbImage hint) => f.Service.Generate(new GenerationJob
    {
        Prompt = "a blue person on a green background", Width = 64, Height = 64, Steps = 10, Seed = 6,
        // Any ControlNet takes the hint; the embedded family has no tile ControlNet.
        Units = [new UnitSpec { Condition = module, Model = "controlnet-tiny-intensity", Image = ImageSource.FromImage(hint), ReturnMap = false }],
    }).Images[0].Image;

    [Fact]
    public void A_colour_fix_unit_pulls_the_pictures_colours_to_the_hints()
    {
        var orange = RgbImage.Black(64, 64);
        for (var i = 0; i < orange.Pixels.Length; i += 3) (orange.Pixels[i], orange.Pixels[i + 1], orange.Pixels[i + 2]) = (230, 120, 30);
        static double Distance((double R, double G, double B) a) => Math.Sqrt(Math.Pow(a.R - 230, 2) + Math.Pow(a.G - 120, 2) + Math.Pow(a.B - 30, 2));
        var plain = Distance(Mean(Generate("tile", orange)));
        var fixedColours = Distance(Mean(Generate("tile_colorfix", orange)));
        var sharp = Generate("tile_colorfix+sharp", orange);
        Console.WriteLine($"colour fix: mean colour {fixedColours:F1} from the hint with, {plain:F1} without");
        Assert.True(fixedColours < plain / 2, $"mean colour {fixedColours:F1} from the hint's with the fix, {plain:F1} without");
        Assert.True(Distance(Mean(sharp)) < plain / 2);
        Assert.NotEqual(Generate("tile_colorfix", orange).Pixels, sharp.Pixels);
    }
}
