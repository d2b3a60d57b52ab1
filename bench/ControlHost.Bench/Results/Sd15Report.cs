using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;

namespace ControlHost.Bench.Results;

/// <summary>
/// `sd15 ROOT`: one denoising step at 512x512 on SD 1.5-shaped networks (tools/forge/sd15.py), with 0, 1 and 2
/// ControlNet units (the two units share one ControlNet, which is loaded once), against the bare floor and the
/// PyTorch time of the same networks (ROOT/torch.json); model load time and the process's peak working set.
/// Writes bench/out/sd15.md, which bench/run.sh folds into RESULTS.md.
/// </summary>
internal static class Sd15Report
{
    private static bool TryResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    public static int Run(string root)
    {
        var md = new StringBuilder();
        md.AppendLine("## SD 1.5 shapes at 512x512");
        md.AppendLine();
        var unetPath = Path.Combine(root, "sd15-shaped", "unet", "model.onnx");
        var weights = Directory.GetFiles(Path.Combine(root, "sd15-shaped"), "*", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(root, "controlnet-sd15-shaped-canny"), "*", SearchOption.AllDirectories))
            .Where(f => !f.EndsWith(".json", StringComparison.Ordinal) && !f.Contains("tokenizer", StringComparison.Ordinal)).Sum(f => new FileInfo(f).Length);
        var service = BenchSetup.Service(root);
        var hint = ImageIo.Load(Path.Combine(BenchSetup.Evalset, "scene900001.canny.png"));
        UnitSpec Unit() => new() { Condition = "canny", Image = ImageSource.FromImage(hint), Preprocess = false, Model = "controlnet-sd15-shaped-canny" };
        GenerationJob Job(int units) => new()
        {
            Model = "sd15-shaped", Prompt = "a red square", Seed = 1, Steps = 5, CfgScale = 5, Sampler = "Euler", Width = 512, Height = 512,
            Units = Enumerable.Range(0, units).Select(_ => Unit()).ToArray(),
        };
        var clock = Stopwatch.StartNew();
        // A warm-up generation with both units: the first runs at this size grow ONNX Runtime's arenas and touch
        // gigabytes of fresh pages, which a measured step should not pay for.
        var warm = service.Generate(Job(2) with { Steps = 2 });
        var loadSeconds = warm.Timings.Load.TotalSeconds;
        var rows = new List<(int Units, double MsPerStep, double Outside, double Load)>();
        for (var k = 0; k <= 2; k++)
        {
            Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] sd15: {k} units");
            var result = service.Generate(Job(k));
            var steps = result.Images[0].Engine.Timings.Skip(1).ToList();
            rows.Add((k, BenchSetup.Median(steps.Select(t => (t.InModel + t.Outside).TotalMilliseconds)), BenchSetup.Median(steps.Select(t => t.Outside.TotalMilliseconds)),
                k == 0 ? loadSeconds : result.Timings.Load.TotalSeconds));
        }
        var peak = Process.GetCurrentProcess().PeakWorkingSet64;
        // The floor loads its own copies: release the service's first (two SD 1.5 UNets do not fit beside each other in 24 GB).
        service.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Linux: "5" into clear_refs resets the peak (VmHWM), so the floor's own peak is measured next.
        var resetPeak = TryResetPeak();
        Console.WriteLine($"[{DateTime.Now:HH:mm:ss}] sd15: floors");
        double unetFloor, cnFloor;
        using (var floors = new Floors(64, 512))
        {
            var (cnMs, residuals) = floors.ControlNet(Path.Combine(root, "controlnet-sd15-shaped-canny", "model.onnx"), 2);
            cnFloor = cnMs;
            unetFloor = floors.UNet(unetPath, residuals, 2);
        }
        var floorPeak = resetPeak ? Process.GetCurrentProcess().PeakWorkingSet64 : 0;
        Dictionary<int, double>? torch = null;
        var torchFile = Path.Combine(root, "torch.json");
        if (File.Exists(torchFile))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(torchFile));
            torch = doc.RootElement.GetProperty("ms_per_step").EnumerateObject().ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetDouble());
        }
        md.AppendLine($"Random-weight networks of SD 1.5's shapes (`tools/forge/sd15.py`: UNet 320/640/1280/1280 with 13 residual inputs, CLIP-shaped text encoder, AutoencoderKL, a ControlNet; {weights / 1e9:0.00} GB of float32 weights on disk, the UNet with external data). " +
                      "A guidance step (batch 2, 64x64 latent), `Euler`, 2 threads, median of the steps after the first of a 5-step generation, after a warm-up generation; the floor is the same files run bare (UNet at batch 2 + one ControlNet run at batch 2 per unit, best of 2).");
        md.AppendLine();
        md.AppendLine("| units | ControlHost ms/step | floor ms/step | ratio | outside ORT | PyTorch ms/step | PyTorch / ControlHost | load s |");
        md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (units, ms, outside, load) in rows)
        {
            var floor = unetFloor + units * cnFloor;
            var t = torch is not null && torch.TryGetValue(units, out var v) ? v : double.NaN;
            md.AppendLine($"| {units} | {ms:0} | {floor:0} | {ms / floor:0.000} | {outside:0.0} ms | {(double.IsNaN(t) ? "not measured" : t.ToString("0"))} | {(double.IsNaN(t) ? "" : (t / ms).ToString("0.00") + "x")} | {load:0.0} |");
        }
        md.AppendLine();
        md.AppendLine("Load: the first generation's loading of every model (row 0: the UNet, text encoder, VAE and the ControlNet, in the warm-up); later rows find them loaded.");
        md.AppendLine();
        md.AppendLine($"Peak working set of the process after the three generations: {peak / 1e9:0.00} GB, against {weights / 1e9:0.00} GB of weights loaded (UNet, text encoder, both VAE halves, one ControlNet: the two units share it). " +
                      (resetPeak ? $"The bare floor alone (a UNet and a ControlNet session, no engine) peaked at {floorPeak / 1e9:0.00} GB. " : "") +
                      $"k units cost base + {(rows[2].MsPerStep - rows[0].MsPerStep) / (2 * cnFloor):0.000} x k x (one ControlNet run).");
        md.AppendLine();
        var outDir = Path.Combine(BenchSetup.Root, "bench", "out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "sd15.md"), md.ToString());
        Console.WriteLine(md.ToString());
        Console.WriteLine($"sd15 measured in {clock.Elapsed.TotalMinutes:0.0} min");
        return 0;
    }
}
