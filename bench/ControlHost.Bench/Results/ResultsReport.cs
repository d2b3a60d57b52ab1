using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using ControlHost.Application.Generation;

namespace ControlHost.Bench.Results;

/// <summary>
/// `results`: every measure of bench/ in one run on one machine, written to bench/RESULTS.md with its charts in
/// bench/plots/. Ratios are only ever taken between numbers of the same run.
/// </summary>
internal static class ResultsReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var quick = args.Contains("--quick"); // a smoke run: one repeat, fewer scenes (the numbers are not for the report)
        var repeats = quick ? 1 : 5;
        var outDir = Path.Combine(BenchSetup.Root, "bench");
        var plots = Path.Combine(outDir, "plots");
        Directory.CreateDirectory(plots);
        var md = new StringBuilder();
        void Line(string text = "") => md.AppendLine(text);
        void Log(string what) => Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] {what}");

        Line("# ControlHost benchmark results");
        Line();
        Line($"Written by `bash bench/run.sh` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC{(quick ? " (quick run: one repeat; not for comparison)" : "")}.");
        Line();
        Line($"Machine: {Machine()}; .NET {Environment.Version}; ONNX Runtime {OrtVersion()} ({(BenchSetup.Device == Engine.Onnx.DeviceChoice.Cuda ? "CUDA provider asked for" : "CPU provider")}, {BenchSetup.Threads} intra-op threads, spinning off); " +
             $"OpenCV {OpenCvSharp.Cv2.GetVersionString()}.");
        Line();

        using var service = BenchSetup.Service(plugins: true);
        Log("stacked units, cfg 5");
        var stacked = EngineMeasures.Stacked(service, repeats, 5);
        Log("stacked units, cfg 1");
        var unguided = EngineMeasures.Stacked(service, repeats, 1);
        Log("colour unit");
        var colour = EngineMeasures.Measure(service, "canny + colour (context tokens), cfg 5",
            EngineMeasures.Job(5, 128, BenchSetup.ReadyUnit("canny"), new Application.Units.UnitSpec
            {
                Condition = "colour", Image = Application.Sources.ImageSource.FromPath(Path.Combine(BenchSetup.Root, "examples", "palette.png")),
            }), repeats);

        Log("floors");
        using var floors = new Floors();
        var runs = quick ? 10 : 40;
        var cn = new[] { "canny", "seg", "depth" }.Select(c => floors.ControlNet(Path.Combine(BenchSetup.Models, $"controlnet-tiny-{c}", "model.onnx"), runs)).ToArray();
        var unetFloor = floors.UNet(Path.Combine(BenchSetup.Models, "tiny-sd", "unet", "model.onnx"), cn[0].Residuals, runs);
        var plainPath = Path.Combine(outDir, "out", "unet-plain.onnx");
        double? plainFloor = File.Exists(plainPath) ? floors.UNet(plainPath, [], runs) : null;
        double FloorOf(int units) => unetFloor + cn.Take(units).Sum(c => c.Ms);

        Line("## Per-step time against the bare floor");
        Line();
        Line("The embedded model at 128x128 (a 16x16 latent), 20 steps, Euler a, ready hints (units canny, seg, depth: three networks). " +
             "ControlHost's step is the engine's own per-step timing (inside ONNX Runtime plus everything else), median of " +
             $"{repeats} generations after a warm-up, steps after the first. The floor is the same ONNX files run bare in a loop " +
             $"(`Floors`: one UNet run at batch 2 plus one run per ControlNet at batch 2, bound once, median of {runs} runs).");
        Line();
        Line("| units | ControlHost ms/step | floor ms/step | ratio | + ms for the unit | its ControlNet's own run | outside ORT / inside | first step outside ORT | bytes allocated/step |");
        Line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (var k = 0; k < stacked.Count; k++)
        {
            var s = stacked[k];
            var floor = FloorOf(k);
            var extra = k == 0 ? "" : F(s.MsPerStep - stacked[k - 1].MsPerStep);
            Line($"| {k} | {F(s.MsPerStep)} | {F(floor)} | {F(s.MsPerStep / floor, "0.000")} | {extra} | {(s.OwnRunMs is { } o ? F(o) : "")} | {P(s.Overhead)} | {F(s.FirstStepOutsideMs)} ms | {s.BytesPerStep:0} |");
        }
        Line();
        Line("Without guidance (cfg 1: one UNet entry a step) and with a context-token unit:");
        Line();
        Line("| configuration | ms/step | outside ORT / inside | first step outside ORT | bytes/step |");
        Line("| --- | ---: | ---: | ---: | ---: |");
        foreach (var s in unguided.Append(colour))
            Line($"| {s.Label} | {F(s.MsPerStep)} | {P(s.Overhead)} | {F(s.FirstStepOutsideMs)} ms | {s.BytesPerStep:0} |");
        Line();
        Plots.Lines(Path.Combine(plots, "step-vs-units.png"), "Time per denoising step against stacked ControlNet units", "units", "ms per step",
        [
            ("ControlHost, cfg 5", Xs(stacked.Count), stacked.Select(s => s.MsPerStep).ToArray()),
            ("bare ONNX Runtime floor", Xs(stacked.Count), Enumerable.Range(0, stacked.Count).Select(FloorOf).ToArray()),
            ("ControlHost, cfg 1", Xs(unguided.Count), unguided.Select(s => s.MsPerStep).ToArray()),
        ]);
        Line("![time per step against units](plots/step-vs-units.png)");
        Line();
        Line($"Bare runs: UNet at batch 2 {F(unetFloor)} ms (residual inputs fed zeros); ControlNets canny {F(cn[0].Ms)}, seg {F(cn[1].Ms)}, depth {F(cn[2].Ms)} ms.");
        Line(plainFloor is { } plain
            ? $"The same UNet exported without residual inputs (`tools/forge/plain_unet.py`): {F(plain)} ms, so the residual inputs fed zeros cost {P(unetFloor / plain - 1)} more."
            : "The UNet without residual inputs was not measured (`tools/forge/plain_unet.py` writes bench/out/unet-plain.onnx; it needs Python with onnx).");
        Line();

        Log("PyTorch reference");
        md.Append(TorchReference.Section(service, quick ? 1 : 3));
        Line();

        Log("sizes");
        var sizes = EngineMeasures.Sizes(service, repeats);
        Line("## Per-step time against image size");
        Line();
        Line("The tiny UNet at three sides (10 steps, cfg 5), without and with one Canny unit:");
        Line();
        Line("| side | latent | ms/step | + canny | outside ORT / inside |");
        Line("| ---: | ---: | ---: | ---: | ---: |");
        foreach (var (size, plainRow, canny) in sizes)
            Line($"| {size} | {size / 8}x{size / 8} | {F(plainRow.MsPerStep)} | {F(canny.MsPerStep)} | {P(canny.Overhead)} |");
        Line();
        Plots.Lines(Path.Combine(plots, "step-vs-size.png"), "Time per denoising step against image side", "image side (px)", "ms per step",
        [
            ("no unit", sizes.Select(s => (double)s.Size).ToArray(), sizes.Select(s => s.Plain.MsPerStep).ToArray()),
            ("one canny unit", sizes.Select(s => (double)s.Size).ToArray(), sizes.Select(s => s.Canny.MsPerStep).ToArray()),
        ]);
        Line("![time per step against size](plots/step-vs-size.png)");
        Line();

        Log("float16");
        using (var f16 = new Float16Folder())
        using (var half = BenchSetup.Service(f16.Root))
        {
            var job = EngineMeasures.Job(5, 128, BenchSetup.ReadyUnit("canny"));
            var f32Row = EngineMeasures.Measure(service, "float32", job, repeats);
            var f16Row = EngineMeasures.Measure(half, "float16 I/O", job, repeats);
            Line("## Float16 folders on CPU");
            Line();
            Line("The embedded family and its canny ControlNet with float16 inputs and outputs (tests/fixtures/float16), one canny unit, cfg 5:");
            Line();
            Line("| folder | ms/step | inside ORT | outside ORT | bytes/step |");
            Line("| --- | ---: | ---: | ---: | ---: |");
            foreach (var r in new[] { f32Row, f16Row }) Line($"| {r.Label} | {F(r.MsPerStep)} | {F(r.InModelMs)} | {F(r.OutsideMs)} | {r.BytesPerStep:0} |");
            Line();
            Line($"Float16 I/O changes the step time by {P(f16Row.MsPerStep / f32Row.MsPerStep - 1)} here (runs vary by about that much): the conversions at the boundary (outside ORT: " +
                 $"{F(f16Row.OutsideMs - f32Row.OutsideMs)} ms more) and the Cast nodes inside the model. On CPU the engine keeps its own tensors in float32 either way.");
            Line();
        }

        Log("samplers");
        var points = SamplerQuality.Run(service, quick ? 2 : 8, quick ? 2 : 12);
        Line("## Samplers: quality against steps");
        Line();
        Line($"Embedded model, cfg 4, 128x128. Canny edge F1: a canny unit on {(quick ? 2 : 8)} in-grammar scenes (edge F1 of the image against the hint, the evaluator's measure). " +
             $"Prompt colour: {(quick ? 2 : 12)} prompts without units (share whose object has the caption's colour). ms per image is the mean over both.");
        Line();
        Line("| sampler | " + string.Join(" | ", SamplerQuality.StepCounts.Select(s => $"{s} steps F1 / colour")) + " | plateau at | ms/image there |");
        Line("| --- | " + string.Join(" | ", SamplerQuality.StepCounts.Select(_ => "---:")) + " | ---: | ---: |");
        foreach (var group in points.GroupBy(p => p.Sampler))
        {
            var plateau = SamplerQuality.Plateau(group);
            var there = group.FirstOrDefault(p => p.Steps == plateau);
            Line($"| {group.Key} | " + string.Join(" | ", group.OrderBy(p => p.Steps).Select(p => $"{F(p.CannyF1, "0.000")} / {P(p.PromptColour, "0")}")) +
                 $" | {plateau} | {(there is null ? "" : F(there.MsPerImage, "0"))} |");
        }
        Line();
        Plots.Lines(Path.Combine(plots, "samplers-f1.png"), "Canny edge F1 against steps, per sampler", "steps", "edge F1",
            points.GroupBy(p => p.Sampler).Select(g => (g.Key, g.Select(p => (double)p.Steps).ToArray(), g.Select(p => p.CannyF1).ToArray())));
        Line("![edge F1 against steps](plots/samplers-f1.png)");
        Line();

        Log("preprocessors");
        var modules = new[] { "canny", "lines", "scribble", "softedge", "intensity", "colour", "seg", "shuffle" };
        Line("## Preprocessors");
        Line();
        Line($"ms per module (median of {(quick ? 5 : 30)} runs) on the drawn 512 and 1024 scenes of PreprocessorBenchmarks; `dotnet run -c Release --project bench/ControlHost.Bench -- --filter '*'` gives BenchmarkDotNet's full table.");
        Line();
        Line("| module | 512 ms | 1024 ms |");
        Line("| --- | ---: | ---: |");
        foreach (var (module, a, b) in PreprocessorTimes.Run(modules, quick ? 5 : 30)) Line($"| {module} | {F(a)} | {F(b)} |");
        Line();

        foreach (var extra in new[] { "torch.md", "sd15.md", "checkpoints.md", "server-memory.md", "gpu.md" }.Select(f => Path.Combine(outDir, "out", f)))
            if (File.Exists(extra))
            {
                md.Append(File.ReadAllText(extra));
                Line();
            }
        var path = Path.Combine(outDir, "RESULTS.md");
        File.WriteAllText(path, md.ToString());
        Log($"wrote {path}");
        return 0;
    }

    private static double[] Xs(int n) => Enumerable.Range(0, n).Select(i => (double)i).ToArray();
    private static string F(double v, string format = "0.00") => v.ToString(format, Inv);
    private static string P(double v, string format = "0.0") => (100 * v).ToString(format, Inv) + "%";

    private static string OrtVersion()
    {
        try
        {
            return Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString();
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            return "?";
        }
    }

    private static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        return $"{cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}, {Environment.ProcessorCount} cores, {memory:0} GiB, {RuntimeInformation.OSDescription}";
    }
}
