using System.Diagnostics;
using ControlHost.Preprocessors;

namespace ControlHost.Bench.Results;

/// <summary>ms per preprocessor module at 512 and 1024 pixels (a Stopwatch loop; BenchmarkDotNet's run has the spread).</summary>
internal static class PreprocessorTimes
{
    public static List<(string Module, double Ms512, double Ms1024)> Run(IReadOnlyList<string> modules, int runs)
    {
        var images = new[] { 512, 1024 }.ToDictionary(s => s, PreprocessorBenchmarks.Scene);
        double Time(string module, int size)
        {
            var settings = PreprocessorBenchmarks.SettingsOf(module);
            for (var i = 0; i < 3; i++) PreprocessorRegistry.Run(module, images[size], settings);
            var times = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                var clock = Stopwatch.StartNew();
                PreprocessorRegistry.Run(module, images[size], settings);
                times.Add(clock.Elapsed.TotalMilliseconds);
            }
            return BenchSetup.Median(times);
        }
        return modules.Select(m => (m, Time(m, 512), Time(m, 1024))).ToList();
    }
}
