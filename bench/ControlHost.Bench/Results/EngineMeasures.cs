using System.Diagnostics;
using ControlHost.Application.Generation;
using ControlHost.Application.Units;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Bench.Results;

/// <summary>One configuration's per-step figures, medians over the repeats (the first generation only warms up).</summary>
internal sealed record StepFigures(string Label, int Units, double MsPerStep, double InModelMs, double OutsideMs, double FirstStepOutsideMs,
    double BytesPerStep, double? OwnRunMs = null)
{
    /// <summary>Time outside ONNX Runtime over time inside it, steps after the first.</summary>
    public double Overhead => OutsideMs / InModelMs;
}

/// <summary>
/// Time per denoising step through the generation service: stacked ControlNet units, with and without guidance,
/// with a context-token (colour) unit, at several sizes, for float32 and float16 folders. Steps are timed by the
/// engine itself (inside Run vs everything else); bytes per step are a 40-step run minus a 20-step one, over 20.
/// </summary>
internal static class EngineMeasures
{
    public const string Prompt = "a large white square and a small teal square on a blue background";

    public static StepFigures Measure(GenerationService service, string label, GenerationJob job, int repeats, Func<TimeSpan>? ownRun = null)
    {
        var steps = job.Steps!.Value;
        var perStep = new List<double>();
        var inModel = new List<double>();
        var outside = new List<double>();
        var first = new List<double>();
        var bytes = new List<double>();
        var own = new List<double>();
        for (var r = 0; r <= repeats; r++)
        {
            var ownBefore = ownRun?.Invoke() ?? TimeSpan.Zero;
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            var image = service.Generate(job).Images[0];
            clock.Stop();
            var allocated20 = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            if (r == 0) continue;
            var timings = image.Engine.Timings;
            // The loop's wall time: the steps' own timings (the job's total includes text encoding and decoding).
            perStep.Add(timings.Skip(1).Average(t => (t.InModel + t.Outside).TotalMilliseconds));
            inModel.Add(timings.Skip(1).Average(t => t.InModel.TotalMilliseconds));
            outside.Add(timings.Skip(1).Average(t => t.Outside.TotalMilliseconds));
            first.Add(timings[0].Outside.TotalMilliseconds);
            if (ownRun is not null) own.Add((ownRun() - ownBefore).TotalMilliseconds / steps);
            var before40 = GC.GetAllocatedBytesForCurrentThread();
            service.Generate(job with { Steps = steps * 2 });
            bytes.Add((GC.GetAllocatedBytesForCurrentThread() - before40 - allocated20) / (double)steps);
        }
        return new StepFigures(label, job.Units.Count, BenchSetup.Median(perStep), BenchSetup.Median(inModel), BenchSetup.Median(outside),
            BenchSetup.Median(first), BenchSetup.Median(bytes), ownRun is null ? null : BenchSetup.Median(own));
    }

    public static GenerationJob Job(double cfg = 5, int size = 128, params UnitSpec[] units) => new()
    {
        Prompt = Prompt, Seed = 1, Steps = 20, CfgScale = cfg, Sampler = "Euler a", Width = size, Height = size, Units = units,
    };

    /// <summary>0-3 stacked ControlNets (canny, seg, depth: three networks), each with its own network's run time.</summary>
    public static List<StepFigures> Stacked(GenerationService service, int repeats, double cfg)
    {
        var conditions = new[] { "canny", "seg", "depth" };
        using var lease = service.Pool.Acquire(service.ResolveModel(null));
        var rows = new List<StepFigures>();
        for (var k = 0; k <= 3; k++)
        {
            var units = conditions[..k].Select(c => BenchSetup.ReadyUnit(c)).ToArray();
            Func<TimeSpan>? own = k == 0 ? null
                : () => lease.Model.ControlNet(service.Catalog.ResolveControlNet(null, conditions[k - 1], lease.Model.Name)).Model.RunTime;
            rows.Add(Measure(service, $"{k} ControlNet{(k == 1 ? "" : "s")}, cfg {cfg}", Job(cfg, 128, units), repeats, own));
        }
        return rows;
    }

    /// <summary>Per-step time against the image side (the tiny UNet at 128, 256 and 512 pixels), without and with one unit.</summary>
    public static List<(int Size, StepFigures Plain, StepFigures Canny)> Sizes(GenerationService service, int repeats) =>
        new[] { 128, 256, 512 }.Select(size => (size,
            Measure(service, $"{size} px", Job(5, size) with { Steps = 10 }, repeats),
            Measure(service, $"{size} px + canny", Job(5, size, BenchSetup.ReadyUnit("canny")) with { Steps = 10 }, repeats))).ToList();
}
