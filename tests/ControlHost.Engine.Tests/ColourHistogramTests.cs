using System.Text.Json;
using ControlHost.Engine.Imaging;
using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests;

public class ColourHistogramTests
{
    private static readonly JsonElement Expected =
        JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Fixtures, "colour", "expected.json"))).RootElement;

    private static Abstractions.RgbImage Flat(byte r, byte g, byte b) => TestImages.Rectangle(8, 8, 0, 0, 0, 0, (0, 0, 0), (r, g, b));

    [Fact]
    public void Known_answers_from_the_definition()
    {
        Assert.Equal(5, Array.IndexOf(ColourHistogram.HardCounts(Flat(255, 0, 0)), 1.0));
        Assert.Equal(165, Array.IndexOf(ColourHistogram.HardCounts(Flat(255, 255, 255)), 1.0));
        Assert.Equal(179, Array.IndexOf(ColourHistogram.HardCounts(Flat(0, 0, 0)), 1.0));
        var red = ColourHistogram.Compute(Flat(255, 0, 0));
        Assert.Equal(5, Array.IndexOf(red, red.Max()));
        Assert.InRange(red.Sum(), 0.9, 1.0);
    }

    [Fact]
    public void Codebook_matches_the_independent_python_computation()
    {
        var lab = Expected.GetProperty("_codebook_lab").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();
        Assert.Equal(180, lab.Length);
        for (var i = 0; i < 180; i++)
        {
            Assert.Equal(lab[i][0], ColourHistogram.CodebookLab[i].L, 9);
            Assert.Equal(lab[i][1], ColourHistogram.CodebookLab[i].A, 9);
            Assert.Equal(lab[i][2], ColourHistogram.CodebookLab[i].B, 9);
        }
    }

    [Theory]
    [InlineData("scene0")]
    [InlineData("scene1")]
    [InlineData("scene2")]
    [InlineData("scene3")]
    [InlineData("gradient")]
    public void Histograms_match_the_training_scripts(string name)
    {
        var image = ImageIo.Load(Path.Combine(RepoPaths.Fixtures, "colour", name + ".png"));
        var want = Expected.GetProperty(name).EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var got = ColourHistogram.Compute(image);
        for (var i = 0; i < 180; i++) Assert.True(Math.Abs(want[i] - got[i]) < 1e-5, $"bin {i}: {want[i]} vs {got[i]}");
    }
}
