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
