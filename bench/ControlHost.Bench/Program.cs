using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace ControlHost.Bench;

/// <summary>
/// dotnet run -c Release --project bench/ControlHost.Bench [-- --filter *Preprocessor*]: BenchmarkDotNet's tables,
/// then one line per module and size with its time as a ratio to copying the image (both from the same run).
/// </summary>
internal static class Program
{
    private static void Main(string[] args)
    {
        // A short job: a few warm-ups and iterations keep the whole run to minutes on two cores.
        var config = DefaultConfig.Instance.AddJob(Job.ShortRun.WithWarmupCount(2).WithIterationCount(5));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        foreach (var summary in summaries.Where(s => s.BenchmarksCases.Any(c => c.Descriptor.Type == typeof(PreprocessorBenchmarks))))
            PrintRatios(summary);
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
