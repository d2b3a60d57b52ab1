using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Tests;

/// <summary>
/// SD 1.5's layout at reduced widths (tests/fixtures/sd15-small, from tools/forge/sd15.py --small, random weights):
/// 12 down residuals over four resolution levels plus the middle one, two layers per block, a CLIP-shaped text
/// encoder, a ControlNet of the UNet's encoder. What holds here holds for real SD 1.5 exports' shapes; the full-size
/// networks are a benchmark only (bench/sd15.sh).
/// </summary>
public sealed class Sd15LayoutTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("controlhost-sd15-").FullName;
    private readonly GenerationService _service;

    public Sd15LayoutTests()
    {
        TestFolders.CopyTree(Path.Combine(RepoPaths.Fixtures, "sd15-small"), _root);
        TestFolders.CopyTree(Path.Combine(RepoPaths.TinySd, "tokenizer"), Path.Combine(_root, "sd15-small", "tokenizer"));
        _service = new GenerationService(new ServiceOptions { ModelRoots = [_root], Device = DeviceChoice.Cpu, Threads = 2, Paths = PathPolicy.Local });
    }


    private GenerationJob Job(params UnitSpec[] units) => new()
    {
        Model = "sd15-small", Prompt = "a red square", Seed = 3, Steps = 3, CfgScale = 5, Width = 128, Height = 128, Units = units,
    };

    private static UnitSpec Canny() => new() { Condition = "canny", Image = ImageSource.FromImage(EmbeddedModelFixture.Scene(0)), Preprocess = false };

    [Fact]
    public void The_unet_has_sd15s_thirteen_residual_inputs_over_four_levels()
    {
        using var lease = _service.Pool.Acquire(_service.ResolveModel("sd15-small"));
        var layout = lease.Model.Unet.Residuals!;
        Assert.Equal(13, layout.Count);
        Assert.Equal([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3], layout.Factors);
        Assert.Equal("mid_block_additional_residual", layout.Names[^1]);
        Assert.Equal([1, 32, 2, 2], layout.Shape(12, 1, 16, 16));
        Assert.Equal(32, lease.Model.Unet.ContextDim);
    }

    [Fact]
    public void It_generates_with_and_without_its_controlnet_and_repeats_its_pixels()
    {
        var plain = _service.Generate(Job()).Images[0];
        Assert.Equal((128, 128), (plain.Image.Width, plain.Image.Height));
        Assert.Equal(plain.Image.Pixels, _service.Generate(Job()).Images[0].Image.Pixels);
        var controlled = _service.Generate(Job(Canny())).Images[0];
        Assert.NotEqual(plain.Image.Pixels, controlled.Image.Pixels);
        Assert.Contains("controlnet-sd15-small-canny", controlled.Infotext);
    }

    public void Dispose()
    {
        _service.Dispose();
        Directory.Delete(_root, true);
    }
}
