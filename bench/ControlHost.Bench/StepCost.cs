using System.Diagnostics;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Bench;

/// <summary>
/// Time per denoising step on the embedded model with 0, 1, 2 and 3 ControlNet units (canny, seg, depth: three
/// networks), and what each extra unit costs against its own network's run time, measured in the same run.
/// The host's overhead per unit is the difference: summing residuals in place and the guidance bookkeeping.
/// </summary>
internal static class StepCost
{
    public static void Run(int repeats)
    {
        var root = ProgramFolders.FindAbove(d => File.Exists(Path.Combine(d, "ControlHost.sln")))
            ?? throw new InvalidOperationException("run from inside the repository");
        var catalog = new ModelCatalog([Path.Combine(root, "models")]);
        using var model = StableDiffusionModel.Load(catalog.ResolveModel(ModelCatalog.DefaultModelName), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var pipeline = new DiffusionPipeline(model);
        var resolver = new UnitResolver(new ConditionRegistry(), catalog);
        var evalset = Path.Combine(root, "tests", "fixtures", "evalset");
        var conditions = new[] { "canny", "seg", "depth" };
        var request = new GenerationRequest { Prompt = "a large white square and a small teal square on a blue background", Seed = 1, Steps = 20, CfgScale = 5 };
        Console.WriteLine($"{"units",5} {"ms/step",9} {"+ms/unit",9} {"own run ms",10} {"ratio",6} {"B/step",8}   (median of {repeats} generations, 20 steps, cfg 5, 128x128, CPU 2 threads; B/step: bytes allocated per denoising step, from a 40-step run minus a 20-step one)");
        double previous = 0;
        for (var k = 0; k <= 3; k++)
        {
            var requests = conditions[..k].Select(c => new UnitRequest
            {
                Condition = c, Image = ImageIo.Load(Path.Combine(evalset, $"scene900001.{c}.png")), Preprocess = false,
            }).ToArray();
            var perStep = new List<double>();
            var ownRuns = new List<double>();
            var allocated = new List<double>();
            for (var r = 0; r < repeats + 1; r++)
            {
                var units = resolver.Resolve(requests, model, 128, 128);
                var newest = k == 0 ? null : model.ControlNet(catalog.ResolveControlNet(null, conditions[k - 1], model.Name)).Model;
                var (before, beforeCount) = newest is null ? (TimeSpan.Zero, 0) : (newest.RunTime, newest.RunCount);
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                pipeline.Generate(request, units);
                clock.Stop();
                var allocatedTwenty = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                if (r == 0) continue; // the first run warms the sessions up
                perStep.Add(clock.Elapsed.TotalMilliseconds / request.Steps);
                if (newest is not null)
                    ownRuns.Add((newest.RunTime - before).TotalMilliseconds / request.Steps);
                // The same generation at 40 steps: the difference is what the 20 extra steps allocate.
                var fortyUnits = resolver.Resolve(requests, model, 128, 128);
                var before40 = GC.GetAllocatedBytesForCurrentThread();
                pipeline.Generate(request with { Steps = 40 }, fortyUnits);
                allocated.Add((GC.GetAllocatedBytesForCurrentThread() - before40 - allocatedTwenty) / 20.0);
            }
            var step = Median(perStep);
            var extra = k == 0 ? 0 : step - previous;
            var own = k == 0 ? 0 : Median(ownRuns);
            var bytesPerStep = Median(allocated);
            Console.WriteLine(k == 0 ? $"{k,5} {step,9:0.00} {"",9} {"",10} {"",6} {bytesPerStep,8:0}" : $"{k,5} {step,9:0.00} {extra,9:0.00} {own,10:0.00} {extra / own,6:0.00} {bytesPerStep,8:0}");
            previous = step;
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return values[values.Count / 2];
    }
}
