using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ControlHost.Bench;

/// <summary>
/// dotnet run -c Release --project bench/ControlHost.Bench [-- --filter *Preprocessor*]: BenchmarkDotNet's tables,
/// then one line per module and size with its time as a ratio to copying the image (both from the same run).
/// dotnet run -c Release --project bench/ControlHost.Bench -- steps [repeats]: time per denoising step with 0-3 units.
/// ... -- info: OpenCV's build and threads, and where Canny's time goes.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "results") return Results.ResultsReport.Run(args);
        if (args.Length > 1 && args[0] == "sd15") return Results.Sd15Report.Run(args[1]);
        if (args.Length > 1 && args[0] == "checkpoints") return CheckpointLoad.Run(args[1]);
        if (args.Length > 1 && args[0] == "load")
            return ServerLoad.Run(args[1], args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 200,
                args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 8);
        if (args.Length > 4 && args[0] == "cluster")
            return ClusterLoad.Run(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture), args[4]);
        if (args.Length > 2 && args[0] == "memory")
            return ServerMemory.Run(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture),
                args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1000);
        var build = OpenCvSharp.Cv2.GetBuildInformation().Split('\n');
        Console.WriteLine($"OpenCV {OpenCvSharp.Cv2.GetVersionString()}, {OpenCvSharp.Cv2.GetNumThreads()} threads, parallel framework: " +
            (build.FirstOrDefault(l => l.Contains("Parallel framework"))?.Split(':').Last().Trim() ?? "?") +
            $"; {Environment.ProcessorCount} processors");
        if (args.Length > 0 && args[0] == "info")
        {
            CannyBreakdown();
            return 0;
        }
        if (args.Length > 0 && args[0] == "steps")
        {
            StepCost.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5);
            return 0;
        }
        // A short job: a few warm-ups and iterations keep the whole run to minutes on two cores.
        var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithWarmupCount(2).WithIterationCount(5));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        foreach (var summary in summaries.Where(s => s.BenchmarksCases.Any(c => c.Descriptor.Type == typeof(PreprocessorBenchmarks))))
            PrintRatios(summary);
        return 0;
    }

    /// <summary>Where Canny's time goes at 512x512: OpenCV's own call, the preprocessor around it, the output copy.</summary>
    private static void CannyBreakdown()
    {
        var image = PreprocessorBenchmarks.Scene(512);
        using var view = ControlHost.Preprocessors.MatConversions.View(image);
        using var edges = new OpenCvSharp.Mat();
        double Time(Action run)
        {
            for (var i = 0; i < 50; i++) run();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            for (var i = 0; i < 300; i++) run();
            return clock.Elapsed.TotalMilliseconds / 300;
        }
        using var grey = new OpenCvSharp.Mat();
        using var greyEdges = new OpenCvSharp.Mat();
        // The extension runs Canny on the colour image (each pixel's gradient from its strongest channel); on a grey
        // copy it would be cheaper but find other edges (a red-green border has almost no grey contrast).
        var colourMs = Time(() => OpenCvSharp.Cv2.Canny(view, edges, 100, 200));
        var greyMs = Time(() =>
        {
            OpenCvSharp.Cv2.CvtColor(view, grey, OpenCvSharp.ColorConversionCodes.RGB2GRAY);
            OpenCvSharp.Cv2.Canny(grey, greyEdges, 100, 200);
        });
        var sobelMs = Time(() =>
        {
            using var dx = new OpenCvSharp.Mat();
            OpenCvSharp.Cv2.Sobel(view, dx, OpenCvSharp.MatType.CV_16S, 1, 0);
        });
        Console.WriteLine($"Canny 512x512 on the colour image: {colourMs:0.000} ms; grey conversion + Canny on grey: {greyMs:0.000} ms; " +
            $"one colour Sobel pass (of the two Canny makes): {sobelMs:0.000} ms");
        Console.WriteLine($"Canny 512x512: OpenCV alone {colourMs:0.000} ms, " +
            $"Canny.Run {Time(() => ControlHost.Preprocessors.Canny.Run(image)):0.000} ms, " +
            $"output to RGB {Time(() => ControlHost.Preprocessors.MatConversions.ToRgb(edges)):0.000} ms");
    }

    private static void PrintRatios(Summary summary)
    {
        var times = summary.Reports.Where(r => r.ResultStatistics is not null).ToDictionary(
            r => ((string)r.BenchmarkCase.Parameters["Module"], (int)r.BenchmarkCase.Parameters["Size"]),
            r => r.ResultStatistics!.Mean / 1e6); // ns -> ms
        Console.WriteLine();
        Console.WriteLine($"{"module",-16} {"size",6} {"ms",10} {"x copy",10}");
        foreach (var ((module, size), ms) in times.OrderBy(t => t.Key.Item2).ThenBy(t => t.Key.Item1))
        {
            var copy = times.GetValueOrDefault(("copy", size), double.NaN);
            Console.WriteLine($"{module,-16} {size,6} {ms,10:0.000} {ms / copy,10:0.0}");
        }
    }
}
