using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;
using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests;

/// <summary>
/// The C# preprocessors make the same maps as the forge's training scripts (Debian's python3-opencv 4.6) on the
/// held-out scenes, so the embedded ControlNets see at run time what they were trained on.
/// </summary>
public class PreprocessorAgreementTests
{
    public static TheoryData<string, double> Cases() => new()
    {
        { "canny", 0.99 },
        { "lines", 0.97 },
        { "scribble", 0.98 },
        { "intensity", 0.99 },
    };

    private static readonly string EvalSet = Path.Combine(RepoPaths.Fixtures, "evalset");

    private static RgbImage Run(string condition, RgbImage image) => condition switch
    {
        "canny" => Canny.Run(image),
        "lines" => HoughLines.Run(image),
        "scribble" => Scribble.Run(image),
        "intensity" => Intensity.Run(image),
        _ => throw new ArgumentException(condition),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Maps_agree_with_the_training_scripts(string condition, double minimum)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(EvalSet, "scenes.json")));
        long same = 0, total = 0;
        foreach (var scene in doc.RootElement.GetProperty("scenes").EnumerateArray())
        {
            var name = scene.GetProperty("name").GetString()!;
            var mine = Run(condition, ImageIo.Load(Path.Combine(EvalSet, name + ".png")));
            var theirs = ImageIo.Load(Path.Combine(EvalSet, $"{name}.{condition}.png"));
            for (var i = 0; i < mine.Pixels.Length; i += 3)
            {
                // intensity may differ by one level from rounding; maps are otherwise binary
                if (Math.Abs(mine.Pixels[i] - theirs.Pixels[i]) <= 1) same++;
                total++;
            }
        }
        var agreement = (double)same / total;
        Assert.True(agreement >= minimum, $"{condition}: {agreement:P3} of pixels agree (need {minimum:P0})");
    }
}
