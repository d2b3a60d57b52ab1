using ControlHost.Checkpoints.Safetensors;
using ControlHost.Engine.Models;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// tests/fixtures/ldm-small: reduced-width SD 1.x files in the layouts users keep, with random weights, and the
/// outputs PyTorch computed for them (tools/forge/ldm_checkpoint.py, float64, stored float32).
/// </summary>
internal static class Fixtures
{
    public static string Repo { get; } = ProgramFolders.FindAbove(d => File.Exists(Path.Combine(d, "ControlHost.sln")))
        ?? throw new InvalidOperationException("repository root not found above the test binaries");

    public static string Dir => Path.Combine(Repo, "tests", "fixtures", "ldm-small");
    public static string Checkpoint => Path.Combine(Dir, "checkpoint.safetensors");
    public static string Inpainting => Path.Combine(Dir, "inpainting.safetensors");
    public static string ControlNet => Path.Combine(Dir, "controlnet.safetensors");
    public static string Lora => Path.Combine(Dir, "lora.safetensors");
    public static string Embedding => Path.Combine(Dir, "embedding.safetensors");
    public static string Reference => Path.Combine(Dir, "reference.safetensors");

    /// <summary>A fresh empty folder under the system temp folder, removed by the caller.</summary>
    public static string TempDir(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"controlhost-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>tests/fixtures/sd2-small: the reduced SD 2.x files and references (tools/forge/sd2_checkpoint.py).</summary>
    public static string Sd2Dir => Path.Combine(Repo, "tests", "fixtures", "sd2-small");
    public static string Sd2Reference => Path.Combine(Sd2Dir, "reference.safetensors");

    /// <summary>tests/fixtures/sdxl-small: the reduced SDXL checkpoint and references (tools/forge/sdxl_checkpoint.py).</summary>
    public static string SdxlDir => Path.Combine(Repo, "tests", "fixtures", "sdxl-small");
    public static string SdxlReference => Path.Combine(SdxlDir, "reference.safetensors");

    public static (float[] Values, long[] Shape) Ref(string name, string? file = null)
    {
        using var f = SafetensorsFile.Open(file ?? Reference);
        return (f.ReadFloats(name), f.Entry(name).Shape);
    }

    public static int[] RefInts(string name, string? file = null)
    {
        using var f = SafetensorsFile.Open(file ?? Reference);
        return f.ReadLongs(name).Select(v => (int)v).ToArray();
    }

    /// <summary>A reference hint [1,3,H,W] in [0,1] (whole byte values) as the image a unit takes.</summary>
    public static Abstractions.RgbImage HintImage(string name, string file)
    {
        var (values, shape) = Ref(name, file);
        var (h, w) = ((int)shape[2], (int)shape[3]);
        var hint = new Abstractions.RgbImage(w, h, new byte[w * h * 3]);
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < w * h; i++) hint.Pixels[i * 3 + c] = (byte)Math.Round(values[c * w * h + i] * 255);
        return hint;
    }

    /// <summary>The largest difference in 8-bit levels between an image and a reference decode [1,3,H,W] in [-1,1].</summary>
    public static int WorstLevelDifference(Abstractions.RgbImage image, string name, string file)
    {
        var reference = Ref(name, file).Values;
        var n = image.Width * image.Height;
        var worst = 0;
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < n; i++)
            {
                var expected = (int)Math.Round(Math.Clamp((reference[c * n + i] + 1) / 2, 0, 1) * 255);
                worst = Math.Max(worst, Math.Abs(expected - image.Pixels[i * 3 + c]));
            }
        return worst;
    }

    /// <summary>max |a - b| / max |b|: the relative error the parity tests bound.</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxDiff = 0, maxRef = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        return maxDiff / maxRef;
    }
}
