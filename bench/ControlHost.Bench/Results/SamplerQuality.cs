using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Evaluation;

namespace ControlHost.Bench.Results;

/// <summary>One sampler at one step count: Canny edge F1 against the hint and the prompt-colour hit rate.</summary>
internal sealed record SamplerPoint(string Sampler, int Steps, double CannyF1, double PromptColour, double MsPerImage);

/// <summary>
/// Quality against steps for each sampler, on the embedded model, with the evaluator's own measures: a Canny unit
/// on in-grammar scenes (edge F1 of the image against the hint), and prompts without units (does the object have
/// the caption's colour). Which sampler reaches its plateau in the fewest steps is what a user can save.
/// </summary>
internal static class SamplerQuality
{
    public static readonly string[] Samplers = ["Euler a", "Euler", "DDIM", "DPM++ 2M", "DPM++ 2M Karras", "UniPC", "LCM"];
    public static readonly int[] StepCounts = [8, 12, 20, 30];

    public static List<SamplerPoint> Run(GenerationService service, int scenes, int prompts)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(BenchSetup.Evalset, "scenes.json")));
        var sceneList = doc.RootElement.GetProperty("scenes").EnumerateArray().Take(scenes)
            .Select(s => (Name: s.GetProperty("name").GetString()!, Caption: s.GetProperty("caption").GetString()!)).ToList();
        var hints = sceneList.Select(s => ImageIo.Load(Path.Combine(BenchSetup.Evalset, $"{s.Name}.canny.png"))).ToList();
        var colours = doc.RootElement.GetProperty("colours").EnumerateObject()
            .ToDictionary(c => c.Name, c => (c.Value[0].GetInt32(), c.Value[1].GetInt32(), c.Value[2].GetInt32()));
        var promptList = doc.RootElement.GetProperty("prompts").EnumerateArray().Take(prompts).ToList();
        var points = new List<SamplerPoint>();
        foreach (var sampler in Samplers)
            foreach (var steps in StepCounts)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                double f1 = 0;
                for (var i = 0; i < sceneList.Count; i++)
                {
                    var unit = new UnitSpec { Condition = "canny", Image = ImageSource.FromImage(hints[i]), Preprocess = false };
                    var image = service.Generate(Job(sceneList[i].Caption, (uint)(500 + i), sampler, steps, unit)).Images[0].Image;
                    f1 += EdgeMetrics.CannyF1(hints[i], image).F1;
                }
                var hits = 0;
                for (var i = 0; i < promptList.Count; i++)
                {
                    var p = promptList[i];
                    var image = service.Generate(Job(p.GetProperty("caption").GetString()!, (uint)(1000 + i), sampler, steps)).Images[0].Image;
                    if (Adherence.ObjectColour(image, colours, p.GetProperty("background").GetString()!) == p.GetProperty("colour").GetString()) hits++;
                }
                points.Add(new SamplerPoint(sampler, steps, f1 / sceneList.Count, (double)hits / promptList.Count,
                    clock.Elapsed.TotalMilliseconds / (sceneList.Count + promptList.Count)));
            }
        return points;
    }

    private static GenerationJob Job(string prompt, uint seed, string sampler, int steps, params UnitSpec[] units) => new()
    {
        Prompt = prompt, Seed = seed, Steps = steps, CfgScale = 4, Sampler = sampler, Width = 128, Height = 128, Units = units,
    };

    /// <summary>The fewest steps at which a sampler is within 0.02 F1 and 5 points of colour of its own best.</summary>
    public static int? Plateau(IEnumerable<SamplerPoint> points)
    {
        var list = points.OrderBy(p => p.Steps).ToList();
        var (bestF1, bestColour) = (list.Max(p => p.CannyF1), list.Max(p => p.PromptColour));
        return list.FirstOrDefault(p => p.CannyF1 >= bestF1 - 0.02 && p.PromptColour >= bestColour - 0.05)?.Steps;
    }
}
