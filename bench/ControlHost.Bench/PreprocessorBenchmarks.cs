using BenchmarkDotNet.Attributes;
using ControlHost.Abstractions;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Bench;

/// <summary>
/// Time per preprocessor at 512x512 and 1024x1024 on a drawn scene, next to the cost of a plain copy of the same
/// image ("copy"), which Program turns into ratios. Modules that need a user model are left out.
/// </summary>
public class PreprocessorBenchmarks
{
    /// <summary>Every module (CONTROLHOST_BENCH_MODULES=canny,colour limits the run to some).</summary>
    public static IEnumerable<string> Modules
    {
        get
        {
            var only = Environment.GetEnvironmentVariable("CONTROLHOST_BENCH_MODULES")?.Split(',', StringSplitOptions.RemoveEmptyEntries);
            return ["copy", .. PreprocessorRegistry.All.Select(p => p.Name)
                .Where(n => n is not ("openpose" or "depth") && (only is null || only.Contains(n)))];
        }
    }

    private static readonly Dictionary<string, Dictionary<string, string>> Settings = new()
    {
        ["colour_palette"] = new() { ["palette"] = "#ff0000:2,#2040e0:1" },
        ["mask_polygon"] = new() { ["points"] = "10,10 300,40 200,400" },
        ["mask_box"] = new() { ["x"] = "50", ["y"] = "60", ["width"] = "200", ["height"] = "150" },
    };

    public static Dictionary<string, string>? SettingsOf(string module) => Settings.GetValueOrDefault(module);

    [ParamsSource(nameof(Modules))]
    public string Module { get; set; } = "copy";

    [Params(512, 1024)]
    public int Size { get; set; }

    private RgbImage _image = RgbImage.Black(1, 1);

    [GlobalSetup]
    public void Setup() => _image = Scene(Size);

    [Benchmark]
    public object Run() => Module == "copy"
        ? new RgbImage(_image.Width, _image.Height, (byte[])_image.Pixels.Clone())
        : PreprocessorRegistry.Run(Module, _image, Settings.GetValueOrDefault(Module));

    /// <summary>Shapes in several colours on a gradient with mild noise: edges, flat regions and texture.</summary>
    public static RgbImage Scene(int size)
    {
        using var mat = new Mat(size, size, MatType.CV_8UC3);
        for (var y = 0; y < size; y++)
            mat.Row(y).SetTo(new Scalar(40 + 150 * y / size, 120, 200 - 150 * y / size));
        var s = size / 512.0;
        Cv2.Circle(mat, new Point(150 * s, 160 * s), (int)(80 * s), new Scalar(220, 40, 40), -1);
        Cv2.Rectangle(mat, new Rect((int)(280 * s), (int)(90 * s), (int)(150 * s), (int)(120 * s)), new Scalar(30, 200, 60), -1);
        Cv2.FillPoly(mat, [[new Point(100 * s, 450 * s), new Point(250 * s, 280 * s), new Point(400 * s, 450 * s)]], new Scalar(250, 220, 30));
        using var noise = new Mat(size, size, MatType.CV_8UC3);
        Cv2.Randu(noise, Scalar.All(0), Scalar.All(12));
        Cv2.Add(mat, noise, mat);
        return MatConversions.ToRgb(mat);
    }
}
