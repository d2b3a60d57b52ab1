using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;

namespace ControlHost.Bench.Results;

/// <summary>Where the benchmarks find the repository, and the services and units they all use.</summary>
internal static class BenchSetup
{
    public static string Root { get; } = ProgramFolders.FindAbove(d => File.Exists(Path.Combine(d, "ControlHost.sln")))
        ?? throw new InvalidOperationException("run from inside the repository");

    public static string Models => Path.Combine(Root, "models");
    public static string Evalset => Path.Combine(Root, "tests", "fixtures", "evalset");
    public const int Threads = 2;

    /// <summary>CPU unless CONTROLHOST_BENCH_DEVICE=cuda (bench/gpu.sh on a GPU machine).</summary>
    public static DeviceChoice Device => Environment.GetEnvironmentVariable("CONTROLHOST_BENCH_DEVICE") == "cuda" ? DeviceChoice.Cuda : DeviceChoice.Cpu;

    /// <summary>The generation service over a model root, CPU, as every caller makes it; ready hints need no plugin.</summary>
    public static GenerationService Service(string? modelRoot = null, bool plugins = false) => new(new ServiceOptions
    {
        ModelRoots = [modelRoot ?? Models], Device = Device, Threads = Threads, Paths = PathPolicy.Local,
        PluginFolders = plugins ? null : [],
    });

    /// <summary>A ready hint from the in-grammar evaluation set (no preprocessing, so the step cost is the engine's alone).</summary>
    public static UnitSpec ReadyUnit(string condition, int scene = 1) => new()
    {
        Condition = condition, Preprocess = false,
        Image = ImageSource.FromImage(ImageIo.Load(Path.Combine(Evalset, $"scene{900000 + scene}.{condition}.png"))),
    };

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
    }
}
