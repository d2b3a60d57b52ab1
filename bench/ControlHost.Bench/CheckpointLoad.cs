using System.Diagnostics;
using System.Globalization;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;

namespace ControlHost.Bench;

/// <summary>
/// dotnet ControlHost.Bench.dll checkpoints DIR: a user's full-size SD 1.5 files (DIR/checkpoint.safetensors,
/// controlnet.safetensors, lora-a/lora-b.safetensors from tools/forge/ldm_checkpoint.py --full) through the application
/// layer as `generate --models-dir` takes them: the first load (build + sessions), the cached load in a fresh service,
/// switching LoRA sets on the loaded model, and per-step time at 512x512 with 0 and 1 ControlNet, with peak memory.
/// Prints a markdown table (bench/checkpoints.sh writes it to bench/out/checkpoints.md).
/// </summary>
internal static class CheckpointLoad
{
    public static int Run(string dir)
    {
        var root = Path.Combine(dir, "root");
        var cache = Path.Combine(dir, "cache");
        if (Directory.Exists(root)) Directory.Delete(root, true);
        if (Directory.Exists(cache)) Directory.Delete(cache, true);
        Link(dir, "checkpoint.safetensors", root, "Stable-diffusion/sd15-random.safetensors");
        Link(dir, "controlnet.safetensors", root, "ControlNet/control_sd15-random_canny.safetensors");
        Link(dir, "lora-a.safetensors", root, "Lora/lora-a.safetensors");
        Link(dir, "lora-b.safetensors", root, "Lora/lora-b.safetensors");
        var checkpointBytes = new FileInfo(Path.Combine(dir, "checkpoint.safetensors")).Length;
        ServiceOptions Options() => new()
        {
            ModelRoots = [root, Path.Combine(dir, "..", "..", "..", "models")], CacheRoot = cache, Device = Engine.Onnx.DeviceChoice.Cpu,
            Paths = PathPolicy.Local,
        };
        // Each row is printed as it is measured, so a failure late in the run keeps the figures before it.
        Console.WriteLine("| measure | value |\n| --- | --- |");
        var rows = new Rows();

        double cold, build, cached;
        long buildPeak;
        using (var first = new GenerationService(Options()))
        {
            var clock = Stopwatch.StartNew();
            var folder = first.ResolveModel("sd15-random");
            build = clock.Elapsed.TotalSeconds;
            buildPeak = PeakBytes();
            first.Pool.Load(folder);
            cold = clock.Elapsed.TotalSeconds;
        }
        using var service = new GenerationService(Options());
        {
            var clock = Stopwatch.StartNew();
            service.Pool.Load(service.ResolveModel("sd15-random"));
            cached = clock.Elapsed.TotalSeconds;
        }
        rows.Add(("checkpoint", $"{checkpointBytes / 1e9:0.00} GB float16 (UNet, VAE, text encoder)"));
        rows.Add(("first load: build (graphs + float32 weights written)", $"{build:0.0} s, peak working set {buildPeak / 1e9:0.00} GB = {buildPeak / (double)checkpointBytes:0.00}x the checkpoint"));
        rows.Add(("first load in all (build + ONNX Runtime sessions)", $"{cold:0.0} s"));
        rows.Add(("cached load (a fresh service, the build found by hash)", $"{cached:0.0} s"));

        GenerationJob Job(string prompt, int size, int steps, bool controlnet) => new()
        {
            Model = "sd15-random", Prompt = prompt, Width = size, Height = size, Steps = steps, Seed = 1, CfgScale = 7,
            Units = controlnet ? [new UnitSpec { Condition = "canny", Image = ImageSource.FromPath(Path.Combine(dir, "..", "..", "..", "examples", "star-scene.png")) }] : [],
        };
        double Time(GenerationJob job)
        {
            var clock = Stopwatch.StartNew();
            service.Generate(job);
            return clock.Elapsed.TotalSeconds;
        }
        Time(Job("a photo", 64, 1, false)); // warm
        var plain = Time(Job("a photo", 64, 1, false));
        var firstLora = Time(Job("a photo <lora:lora-a:1>", 64, 1, false)) - plain;
        var loraStep = Time(Job("a photo <lora:lora-a:1>", 64, 1, false));
        var switchAb = Time(Job("a photo <lora:lora-a:0.5> <lora:lora-b:0.8>", 64, 1, false)) - loraStep;
        var back = Time(Job("a photo <lora:lora-a:1>", 64, 1, false)) - loraStep;
        var none = Time(Job("a photo", 64, 1, false)) - plain;
        rows.Add(("first LoRA on the checkpoint (LoRA-reachable weights into buffers + one pair of sessions)", $"{firstLora:0.0} s = {firstLora / cold:0.0%} of the first load"));
        rows.Add(("switch LoRA sets: lora-a:1 -> lora-a:0.5 + lora-b:0.8 (re-merge in place)", $"{switchAb:0.00} s = {switchAb / cold:0.0%} of the first load"));
        rows.Add(("switch back: -> lora-a:1 (re-merge in place)", $"{back:0.00} s = {back / cold:0.0%}"));
        rows.Add(("back to no LoRA (the plain sessions, still loaded)", $"{none:0.00} s"));

        foreach (var (prompt, units, label) in new[] { ("a photo", false, "0 units"), ("a photo", true, "1 ControlNet"), ("a photo <lora:lora-a:1>", false, "0 units, a LoRA (live weights: basic optimisation, no pre-packing)") })
        {
            var result = service.Generate(Job(prompt, 512, 3, units));
            var steps = result.Images[0].Engine.Timings;
            var mean = steps.Skip(1).Average(t => (t.InModel + t.Outside).TotalSeconds);
            rows.Add(($"512x512 guidance step, {label} (mean of steps 2-3)", $"{mean:0.00} s"));
        }
        rows.Add(("peak working set of the process", $"{PeakBytes() / 1e9:0.00} GB"));
        return 0;
    }

    private sealed class Rows
    {
        public void Add((string Measure, string Value) row) => Console.WriteLine($"| {row.Measure} | {row.Value} |");
    }

    private static void Link(string dir, string name, string root, string relative)
    {
        var target = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.CreateSymbolicLink(target, Path.GetFullPath(Path.Combine(dir, name)));
    }

    /// <summary>VmHWM: the process's peak resident set so far.</summary>
    private static long PeakBytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
