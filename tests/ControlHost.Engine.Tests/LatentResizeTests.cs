using System.Text.Json;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Engine.Tests;

/// <summary>
/// The hires fix's latent upscale modes against PyTorch's F.interpolate (tests/fixtures/latent-resize, written by
/// tools/forge/latent_resize_reference.py): every mode, up and down, within float rounding.
/// </summary>
public class LatentResizeTests
{
    private static readonly JsonElement Reference = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "tests", "fixtures", "latent-resize", "reference.json"))).RootElement;

    public static TheoryData<string, int, int> Cases()
    {
        var data = new TheoryData<string, int, int>();
        foreach (var c in Reference.GetProperty("cases").EnumerateArray())
            data.Add(c.GetProperty("mode").GetString()!, c.GetProperty("size")[0].GetInt32(), c.GetProperty("size")[1].GetInt32());
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_mode_matches_PyTorchs_interpolate(string mode, int height, int width)
    {
        var latent = Reference.GetProperty("latent").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
        var expected = Reference.GetProperty("cases").EnumerateArray()
            .First(c => c.GetProperty("mode").GetString() == mode && c.GetProperty("size")[0].GetInt32() == height && c.GetProperty("size")[1].GetInt32() == width)
            .GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var actual = LatentResize.Resize(latent, 4, 5, 7, height, width, Enum.Parse<LatentUpscaleMode>(mode));
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Select((e, i) => Math.Abs(e - actual[i])).Max();
        Assert.True(worst < 1e-5, $"{mode} to {width}x{height}: largest difference {worst}");
    }
}
