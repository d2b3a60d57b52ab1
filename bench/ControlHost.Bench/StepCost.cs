using System.Diagnostics;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;

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
        // Through the service, as every caller: ready hints (preprocess=none) need no plugin.
        using var service = new GenerationService(new ServiceOptions
        {
            ModelRoots = [Path.Combine(root, "models")], Device = DeviceChoice.Cpu, Threads = 2, PluginFolders = [],
        });
        var catalog = service.Catalog;
        using var lease = service.Pool.Acquire(service.ResolveModel(null));
        var model = lease.Model;
        var evalset = Path.Combine(root, "tests", "fixtures", "evalset");
        var conditions = new[] { "canny", "seg", "depth" };
        var request = new GenerationJob { Prompt = "a large white square and a small teal square on a blue background", Seed = 1, Steps = 20, CfgScale = 5 };
        Console.WriteLine($"{"units",5} {"ms/step",9} {"+ms/unit",9} {"own run ms",10} {"ratio",6} {"B/step",8}   (median of {repeats} generations, 20 steps, cfg 5, 128x128, CPU 2 threads; B/step: bytes allocated per denoising step, from a 40-step run minus a 20-step one)");
        double previous = 0;
        for (var k = 0; k <= 3; k++)
        {
            var units = conditions[..k].Select(c => new UnitSpec
            {
                Condition = c, Image = ImageSource.FromImage(ImageIo.Load(Path.Combine(evalset, $"scene900001.{c}.png"))), Preprocess = false,
            }).ToArray();
            var job = request with { Units = units };
            var perStep = new List<double>();
            var ownRuns = new List<double>();
            var allocated = new List<double>();
            for (var r = 0; r < repeats + 1; r++)
            {
                var newest = k == 0 ? null : model.ControlNet(catalog.ResolveControlNet(null, conditions[k - 1], model.Name)).Model;
                var (before, beforeCount) = newest is null ? (TimeSpan.Zero, 0) : (newest.RunTime, newest.RunCount);
                var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                var clock = Stopwatch.StartNew();
                service.Generate(job);
                clock.Stop();
                var allocatedTwenty = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                if (r == 0) continue; // the first run warms the sessions up
                perStep.Add(clock.Elapsed.TotalMilliseconds / request.Steps!.Value);
                if (newest is not null)
                    ownRuns.Add((newest.RunTime - before).TotalMilliseconds / request.Steps!.Value);
                // The same generation at 40 steps: the difference is what the 20 extra steps allocate.
                var before40 = GC.GetAllocatedBytesForCurrentThread();
                service.Generate(job with { Steps = 40 });
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
