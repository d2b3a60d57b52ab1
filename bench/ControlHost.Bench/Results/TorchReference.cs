using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ControlHost.Application.Generation;

namespace ControlHost.Bench.Results;

/// <summary>
/// ControlHost against the PyTorch reference (tools/forge/torch_sampler.py: the same weights, checked against the
/// parity fixtures, the same Euler sampler, guidance, units and threads), each started as its own process: end to
/// end is process start to PNG written, the loop is the sampler's own per-step time.
/// </summary>
internal static class TorchReference
{
    private const string Python = "/usr/bin/python3";
    private static readonly string[] Conditions = ["canny", "seg", "depth"];

    public static bool Available() => File.Exists(Python) && Run(Python, ["-c", "import torch, onnx, cv2"], out _) == 0;

    public static string Section(GenerationService service, int repeats)
    {
        var md = new StringBuilder();
        md.AppendLine("## ControlHost against the PyTorch reference");
        md.AppendLine();
        if (!Available())
        {
            md.AppendLine("Not measured: the reference needs Python with torch, onnx and cv2 (`apt-get install python3-torch python3-onnx python3-opencv`).");
            return md.ToString();
        }
        var cli = Path.Combine(BenchSetup.Root, "src", "ControlHost.Cli", "bin", "Release", "net10.0", "controlhost.dll");
        md.AppendLine("The embedded model, 20 steps of `Euler`, cfg 5, 128x128, 2 threads, units from the in-grammar evaluation set as ready hints. " +
                      "Loop: median time of a step after the first. End to end: a fresh process each (`dotnet controlhost.dll generate` in Release; " +
                      $"`python3 tools/forge/torch_sampler.py`), from start to PNG written, best of {repeats}.");
        md.AppendLine();
        md.AppendLine("| units | PyTorch ms/step | ControlHost ms/step | ControlHost faster by | PyTorch end to end s | ControlHost end to end s | faster by |");
        md.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        if (Run(Python, ["tools/forge/torch_sampler.py", "--prepare"], out var prepared) != 0)
            throw new InvalidOperationException("torch_sampler.py --prepare failed:\n" + prepared);
        var evalset = BenchSetup.Evalset;
        for (var k = 0; k <= 2; k++)
        {
            double torchStep = double.MaxValue, torchWall = double.MaxValue, hostWall = double.MaxValue;
            for (var r = 0; r < repeats; r++)
            {
                var clock = Stopwatch.StartNew();
                if (Run(Python, ["tools/forge/torch_sampler.py", "--units", $"{k}", "--out", Path.Combine(Path.GetTempPath(), "torch-ref.png")], out var output) != 0)
                    throw new InvalidOperationException("torch_sampler.py failed:\n" + output);
                torchWall = Math.Min(torchWall, clock.Elapsed.TotalSeconds);
                var json = JsonDocument.Parse(output.Split('\n').Last(l => l.StartsWith('{'))).RootElement;
                torchStep = Math.Min(torchStep, json.GetProperty("ms_per_step").GetDouble());
                var argv = new List<string>
                {
                    cli, "generate", "--prompt", EngineMeasures.Prompt, "--sampler", "Euler", "--cfg", "5", "--steps", "20", "--seed", "1",
                    "--threads", "2", "--device", "cpu", "--out", Path.Combine(Path.GetTempPath(), "host-ref.png"),
                };
                foreach (var c in Conditions.Take(k)) argv.AddRange(["--control", $"{c}={Path.Combine(evalset, $"scene900001.{c}.png")},preprocess=none"]);
                clock.Restart();
                if (Run("dotnet", [.. argv], out var hostOutput) != 0) throw new InvalidOperationException("controlhost generate failed:\n" + hostOutput);
                hostWall = Math.Min(hostWall, clock.Elapsed.TotalSeconds);
            }
            var units = Conditions.Take(k).Select(c => BenchSetup.ReadyUnit(c)).ToArray();
            var host = EngineMeasures.Measure(service, "euler", EngineMeasures.Job(5, 128, units) with { Sampler = "Euler" }, repeats);
            md.AppendLine($"| {k} | {torchStep:0.00} | {host.MsPerStep:0.00} | {torchStep / host.MsPerStep:0.00}x | {torchWall:0.00} | {hostWall:0.00} | {torchWall / hostWall:0.00}x |");
        }
        md.AppendLine();
        return md.ToString();
    }

    private static int Run(string file, string[] args, out string output)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = BenchSetup.Root };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        output += stderr.Result;
        return process.ExitCode;
    }
}
