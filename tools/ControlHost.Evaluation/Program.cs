using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Preprocessors;

namespace ControlHost.Evaluation;

/// <summary>
/// controlhost-eval [--models DIR] [--evalset DIR] [--seeds N] [--steps N] [--cfg S] [--sampler NAME] [--only a,b]: generates from the held-out
/// scenes with ONNX Runtime, with and without each control (same prompt and seed), and prints the adherence table.
/// <c>controlhost-eval placement</c> scores placement seams (SeamEvaluation) and <c>controlhost-eval reference</c>
/// the reference adapter through box placement (ReferenceEvaluation).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var root = FindRoot();
        var modelsDir = Arg("--models", Path.Combine(root, "models"));
        var evalDir = Arg("--evalset", Path.Combine(root, "tests", "fixtures", "evalset"));
        var seeds = int.Parse(Arg("--seeds", "2"), CultureInfo.InvariantCulture);
        var steps = int.Parse(Arg("--steps", "20"), CultureInfo.InvariantCulture);
        var cfgText = Arg("--cfg", "");
        var sampler = Arg("--sampler", ControlHost.Application.Names.SamplerNames.Default);
        var only = Arg("--only", "").Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();

        using var service = new GenerationService(new ServiceOptions
        {
            ModelRoots = [modelsDir], Device = DeviceChoice.Cpu, Threads = 2, Paths = PathPolicy.Local,
        });
        var catalog = service.Catalog;
        var folder = service.ResolveModel(null);
        using var lease = service.Pool.Acquire(folder);
        var pipeline = new DiffusionPipeline(lease.Model);
        // The model's recommended guidance unless one is given (the embedded model recommends 4).
        var cfg = cfgText.Length > 0 ? double.Parse(cfgText, CultureInfo.InvariantCulture) : GenerationPolicy.CfgScale(new GenerationJob(), folder);
        if (args.Length > 0 && args[0] == "placement") return SeamEvaluation.Run(service, root, seeds);
        if (args.Length > 0 && args[0] == "reference") return ReferenceEvaluation.Run(service, root, seeds, steps, args.Contains("--pictures") ? Arg("--pictures", "") : null);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(evalDir, "scenes.json")));
        var scenes = doc.RootElement.GetProperty("scenes").EnumerateArray().ToArray();
        var clock = Stopwatch.StartNew();
        // Each scene's own image through the VAE, shared by every condition's bounds.
        var roundTrips = new Dictionary<string, RgbImage>();

        RgbImage Generate(string caption, uint seed, params UnitSpec[] units) =>
            service.Generate(new GenerationJob
            {
                Prompt = caption, Seed = seed, Steps = steps, CfgScale = cfg, Sampler = sampler, Width = 128, Height = 128, Units = units,
            }).Images[0].Image;

        Console.WriteLine($"condition   measure                      with     without   ratio   (scenes x seeds, {steps} steps, {sampler}, cfg {cfg})");
        // Each condition's measures score the same generations (with and without the unit, same prompt and seed);
        // one Score call gives all of a condition's measures, so the edge match is computed once per image.
        var spatial = new (string Cond, string[] Measures, Func<RgbImage, RgbImage, double[]> Score, bool PeopleOnly)[]
        {
            // Canny precision: how much of what the model draws lies on the map when the map holds every edge, i.e.
            // the share of the generated edges that are not the model's own blur and blotches (it bounds lines).
            ("canny", ["edge F1 (2 px)", "edge precision (2 px)"], CannyScores, false),
            // A lines map holds only the straight parts of the edges, so precision against every edge of the image
            // is capped (0.55 for the evaluation scenes' own images, 0.67 F1); recall asks whether the lines are
            // there, and the lines map of the generated image (the preprocessor run again, as ControlNet papers
            // measure controllability) compares like with like.
            ("lines", ["edge F1 (2 px)", "line recall (2 px)", "edge precision (2 px)", "lines-map F1 (2 px)"],
                LinesScores, false),
            ("scribble", ["edge F1 (2 px)"], (c, g) => [EdgeMetrics.CannyF1(c, g).F1], false),
            ("seg", ["mean IoU"], (c, g) => [Adherence.SegmentationMeanIoU(c, g)], false),
            ("depth", ["Spearman"], (c, g) => [Adherence.DepthSpearman(c, g)], false),
            ("pose", ["limb coverage"], (c, g) => [Adherence.PoseLimbCoverage(c, g)], true),
            ("intensity", ["Pearson"], (c, g) => [Adherence.IntensityCorrelation(c, g)], false),
        };
        foreach (var (cond, measures, score, peopleOnly) in spatial)
        {
            if (only.Count > 0 && !only.Contains(cond)) continue;
            if (!catalog.ControlNets.Any(c => c.Condition == cond))
            {
                Console.WriteLine($"{cond,-11} (no ControlNet exported yet)");
                continue;
            }
            var with = new double[measures.Length];
            var without = new double[measures.Length];
            var ceiling = new double[measures.Length];
            var throughVae = new double[measures.Length];
            var n = 0;
            foreach (var s in scenes.Where(s => !peopleOnly || s.GetProperty("person").GetBoolean()))
            {
                var name = s.GetProperty("name").GetString()!;
                var map = Path.Combine(evalDir, $"{name}.{cond}.png");
                if (!File.Exists(map)) continue;
                var control = ImageIo.Load(map);
                // An empty map (a lines map of a scene with only round shapes) gives a unit nothing to follow.
                if (control.Pixels.All(v => v == 0)) continue;
                var caption = s.GetProperty("caption").GetString()!;
                // What each measure gives the scene's own image, which the control map was made from: the best a
                // generation can expect (1 for most measures; lower where the map holds only part of the edges).
                var own = ImageIo.Load(Path.Combine(evalDir, $"{name}.png"));
                Accumulate(ceiling, score(control, own), seeds);
                // The same image encoded and decoded by the model's VAE: what a generator that put the scene's own
                // latent out exactly would score, so the VAE's part of any shortfall is visible.
                if (!roundTrips.TryGetValue(name, out var throughModelVae))
                    roundTrips[name] = throughModelVae = pipeline.VaeRoundTrip(own);
                Accumulate(throughVae, score(control, throughModelVae), seeds);
                for (uint seed = 0; seed < seeds; seed++)
                {
                    var unit = new UnitSpec { Condition = cond, Image = ImageSource.FromImage(control), Preprocess = false };
                    Accumulate(with, score(control, Generate(caption, seed, unit)), 1);
                    Accumulate(without, score(control, Generate(caption, seed)), 1);
                    n++;
                }
            }
            for (var m = 0; m < measures.Length; m++)
            {
                Report(cond, measures[m], with[m] / n, without[m] / n, n);
                Console.WriteLine($"ceiling     {cond} {measures[m]}: {ceiling[m] / n:0.000} for the scenes' own images, " +
                                  $"{throughVae[m] / n:0.000} for them through the VAE");
            }
        }

        if ((only.Count == 0 || only.Contains("colour")) && catalog.Adapters.Any(a => a.Condition == "colour"))
        {
            // The target histogram comes from another scene's image and the caption loses its colour words, so the
            // colours can come only from the unit (a caption naming other colours would fight it).
            var colourNames = doc.RootElement.GetProperty("colours").EnumerateObject().Select(c => c.Name).ToHashSet();
            double with = 0, without = 0;
            var n = 0;
            for (var i = 0; i < scenes.Length; i++)
            {
                var target = ImageIo.Load(Path.Combine(evalDir, scenes[(i + 1) % scenes.Length].GetProperty("name").GetString()! + ".png"));
                var hist = ColourHistogram.Compute(target);
                var caption = Captions.WithoutColours(scenes[i].GetProperty("caption").GetString()!, colourNames);
                for (uint seed = 0; seed < seeds; seed++)
                {
                    var unit = new UnitSpec { Condition = "colour", Image = ImageSource.FromImage(target) };
                    with += ColourHistogram.Distance(hist, ColourHistogram.Compute(Generate(caption, seed, unit)));
                    without += ColourHistogram.Distance(hist, ColourHistogram.Compute(Generate(caption, seed)));
                    n++;
                }
            }
            Report("colour", "histogram L1 (lower=better)", with / n, without / n, n);
        }

        if (only.Count == 0 || only.Contains("prompt"))
        {
            var colours = doc.RootElement.GetProperty("colours").EnumerateObject().ToDictionary(
                c => c.Name, c => (c.Value[0].GetInt32(), c.Value[1].GetInt32(), c.Value[2].GetInt32()));
            var prompts = doc.RootElement.GetProperty("prompts").EnumerateArray().ToArray();
            var correct = 0;
            for (var i = 0; i < prompts.Length; i++)
            {
                var p = prompts[i];
                var image = Generate(p.GetProperty("caption").GetString()!, (uint)(1000 + i));
                if (Adherence.ObjectColour(image, colours, p.GetProperty("background").GetString()!) == p.GetProperty("colour").GetString()) correct++;
            }
            Console.WriteLine($"{"prompt",-11} {"object colour matches caption",-28} {100.0 * correct / prompts.Length,6:0.0}%            ({prompts.Length} seeds)");
        }
        Console.WriteLine($"evaluated in {clock.Elapsed.TotalSeconds:0} s");
        return 0;
    }

    private static double[] CannyScores(RgbImage control, RgbImage generated)
    {
        var edges = EdgeMetrics.CannyF1(control, generated);
        return [edges.F1, edges.Precision];
    }

    private static double[] LinesScores(RgbImage control, RgbImage generated)
    {
        var edges = EdgeMetrics.CannyF1(control, generated);
        return [edges.F1, edges.Recall, edges.Precision, EdgeMetrics.F1(control, HoughLines.Run(generated), 2).F1];
    }

    private static void Accumulate(double[] sums, double[] scores, int times)
    {
        for (var m = 0; m < sums.Length; m++) sums[m] += times * scores[m];
    }

    private static void Report(string cond, string measure, double with, double without, int n) =>
        Console.WriteLine($"{cond,-11} {measure,-28} {with,6:0.000}   {without,6:0.000}   {(without == 0 ? double.PositiveInfinity : with / without),5:0.00}x  ({n})");

    private static string FindRoot()
    {
        return ProgramFolders.FindAbove(dir => File.Exists(Path.Combine(dir, "ControlHost.sln"))) ?? Directory.GetCurrentDirectory();
    }
}
