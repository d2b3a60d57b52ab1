using ControlHost.Abstractions;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Placement;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Onnx;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// What the application layer does per family, on the reduced SDXL checkpoint in an A1111 folder: box placement with a
/// ControlNet unit (the crop at SDXL's latent scale; nothing outside the box and its feather changes), a unit with a region
/// mask, and the hires fix's latent upscale.
/// </summary>
public sealed class SdxlAboveTheEngineTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir("sdxl-app");
    private readonly GenerationService _service;

    public SdxlAboveTheEngineTests()
    {
        var models = Path.Combine(_dir, "webui", "models");
        Directory.CreateDirectory(Path.Combine(models, "Stable-diffusion"));
        Directory.CreateDirectory(Path.Combine(models, "ControlNet"));
        File.Copy(Path.Combine(Fixtures.SdxlDir, "checkpoint.safetensors"), Path.Combine(models, "Stable-diffusion", "small-sdxl.safetensors"));
        File.Copy(Path.Combine(Fixtures.SdxlDir, "controlnet-diffusers.safetensors"), Path.Combine(models, "ControlNet", "control_small_sdxl_canny.safetensors"));
        _service = new GenerationService(new ServiceOptions
        {
            ModelRoots = [Path.GetDirectoryName(models)!], CacheRoot = Path.Combine(_dir, "cache"), Device = DeviceChoice.Cpu, Threads = 2,
            Paths = PathPolicy.Local,
        });
    }

    private static RgbImage Scene => ImageIo.Fit(ImageIo.Load(Path.Combine(Fixtures.Repo, "examples", "star-scene.png")), 96, 80, ResizeMode.JustResize);

    [Fact]
    public void Box_placement_on_SDXL_changes_nothing_outside_the_box_and_its_feather()
    {
        var background = Scene;
        var box = new PixelBox(24, 16, 40, 40);
        var job = new PlacementJob
        {
            Background = background, Model = "small-sdxl", Prompt = "a red square", Steps = 2, Seed = 4, Feather = 3, Padding = 8, Width = 64, Height = 64,
            Boxes = [new BoxPlacement { Box = box, Units = [new UnitSpec { Condition = "canny", Image = ImageSource.FromPath(Path.Combine(Fixtures.Repo, "examples", "star-scene.png")) }] }],
        };
        var result = new Placer(_service).Place(job).Image;
        Assert.Equal((background.Width, background.Height), (result.Width, result.Height));
        int changedOutside = 0, changedInside = 0;
        for (var y = 0; y < result.Height; y++)
            for (var x = 0; x < result.Width; x++)
            {
                var i = (y * result.Width + x) * 3;
                var changed = result.Pixels[i] != background.Pixels[i] || result.Pixels[i + 1] != background.Pixels[i + 1] || result.Pixels[i + 2] != background.Pixels[i + 2];
                var near = x >= box.X - 4 && x < box.Right + 4 && y >= box.Y - 4 && y < box.Bottom + 4;
                if (changed && !near) changedOutside++;
                if (changed && near) changedInside++;
            }
        Assert.Equal(0, changedOutside);
        Assert.True(changedInside > 100, $"{changedInside} pixels changed in the box");
    }

    [Fact]
    public void A_region_masked_unit_and_a_latent_hires_fix_run_on_SDXL()
    {
        var mask = RgbImage.Black(64, 64);
        for (var y = 0; y < 64; y++)
            for (var x = 0; x < 32; x++)
                for (var c = 0; c < 3; c++) mask.Pixels[(y * 64 + x) * 3 + c] = 255;
        var job = new GenerationJob
        {
            Model = "small-sdxl", Prompt = "a red square", Width = 64, Height = 64, Steps = 2, Seed = 5, CfgScale = 5,
            Units = [new UnitSpec { Condition = "canny", Image = ImageSource.FromPath(Path.Combine(Fixtures.Repo, "examples", "star-scene.png")), Mask = mask }],
            Hires = new HiresSpec { Scale = 2, Upscaler = "Latent", Steps = 2, Strength = 0.5 },
        };
        var output = _service.Generate(job);
        Assert.Equal((128, 128), (output.Images[0].Image.Width, output.Images[0].Image.Height));
        Assert.Contains("Model: control_small_sdxl_canny", output.Images[0].Infotext);
        Assert.Contains("Hires upscale: 2", output.Images[0].Infotext);
    }

    public void Dispose()
    {
        _service.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
