using ControlHost.Application.Generation;
using ControlHost.Application.Units;
using ControlHost.Plugins;

namespace ControlHost.Engine.Tests.Service;

/// <summary>A plugin adds a branch kind the host does not have (contract 1.1) and a generation uses it.</summary>
public class BranchPluginTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    private static double MeanRedMinusBlue(Abstractions.RgbImage image, int x0, int x1)
    {
        double sum = 0;
        var n = 0;
        for (var y = 0; y < image.Height; y++)
            for (var x = x0; x < x1; x++)
            {
                var i = (y * image.Width + x) * 3;
                sum += image.Pixels[i] - image.Pixels[i + 2];
                n++;
            }
        return sum / n;
    }

    [Fact]
    public void A_latent_constraint_from_a_plugin_pins_its_region_to_the_colour()
    {
        using var host = new PluginHost(f.Registry);
        host.LoadFrom([Path.Combine(RepoPaths.Root, "artifacts", "test-plugins", "pin-colour")]);
        Assert.Empty(host.Failed);
        Assert.IsType<GuardedBranchConditionType>(f.Registry.Find("pin_colour"));
        var leftHalf = TestImages.Rectangle(128, 128, 0, 0, 64, 128, (255, 255, 255), (0, 0, 0));
        var job = new GenerationJob { Prompt = "a blue square on a blue background", Seed = 6, Steps = 12 };
        var plain = f.Service.Generate(job).Images[0];
        var pinned = f.Service.Generate(job with
        {
            Units = [new UnitSpec { Condition = "pin_colour", Image = leftHalf, Options = new Dictionary<string, string> { ["colour"] = "#ff2000" } }],
        }).Images[0];
        var (left, right, plainLeft) = (MeanRedMinusBlue(pinned.Image, 0, 56), MeanRedMinusBlue(pinned.Image, 72, 128), MeanRedMinusBlue(plain.Image, 0, 56));
        Assert.True(left > 120 && left - plainLeft > 100, $"pinned half red-blue {left:0}, the same half without the unit {plainLeft:0}");
        Assert.True(right < left - 100, $"unpinned half red-blue {right:0}");
        Assert.Contains("Module: pin_colour", pinned.Infotext);
    }
}
