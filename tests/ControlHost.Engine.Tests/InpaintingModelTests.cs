using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using ControlHost.Engine.Components;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Engine.Tests;

/// <summary>The embedded inpainting model: a folder with only its UNet, the rest taken from tiny-sd.</summary>
public class InpaintingModelTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private static readonly string Inpainting = Path.Combine(RepoPaths.Models, "tiny-sd-inpainting");
    private readonly string _dir = Directory.CreateTempSubdirectory("controlhost-inpaint-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Parts_it_lacks_come_from_the_folder_controlhost_json_names()
    {
        var folder = ModelFolder.Open(Inpainting);
        Assert.Equal(Path.Combine(Inpainting, "unet", "model.onnx"), folder.Unet);
        Assert.Equal(Path.Combine(RepoPaths.TinySd, "text_encoder", "model.onnx"), folder.TextEncoder);
        Assert.Equal(Path.Combine(RepoPaths.TinySd, "vae_decoder", "model.onnx"), folder.VaeDecoder);
        Assert.Equal(ModelFolder.Open(RepoPaths.TinySd).LatentScale, folder.LatentScale);
        Assert.True(ModelCatalog.IsInpainting(Inpainting));
        Assert.False(ModelCatalog.IsInpainting(RepoPaths.TinySd));
    }

    [Fact]
    public void Loads_with_nine_input_channels_and_txt2img_refuses_it_by_name()
    {
        using var model = StableDiffusionModel.Load(ModelFolder.Open(Inpainting), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        Assert.Equal(9, model.Unet.InChannels);
        var e = Assert.Throws<ArgumentException>(() => new DiffusionPipeline(model).Generate(new GenerationRequest { Prompt = "a red star", Steps = 2 }, []));
        Assert.Contains("inpainting", e.Message);
    }

    /// <summary>A yellow scene with a red figure and a blue star (examples/star-scene.png) and a box over the figure.</summary>
    private static (ControlHost.Abstractions.RgbImage Init, ControlHost.Abstractions.RgbImage Mask) Scene()
    {
        var init = ControlHost.Engine.Imaging.ImageIo.Load(Path.Combine(RepoPaths.Root, "examples", "star-scene.png"));
        return (init, ControlHost.Preprocessors.Masks.Box(128, 128, 16, 24, 48, 56));
    }

    private static bool InBox(int x, int y) => x is >= 16 and < 64 && y is >= 24 and < 80;

    /// <summary>Mean of (red - blue) inside the box, and whether every pixel outside it equals the init image.</summary>
    private static (double RedMinusBlue, bool OutsideUnchanged) Inspect(ControlHost.Abstractions.RgbImage result, ControlHost.Abstractions.RgbImage init)
    {
        double sum = 0;
        var n = 0;
        var unchanged = true;
        for (var y = 0; y < 128; y++)
            for (var x = 0; x < 128; x++)
            {
                var i = (y * 128 + x) * 3;
                if (InBox(x, y))
                {
                    sum += result.Pixels[i] - result.Pixels[i + 2];
                    n++;
                }
                else if (result.Pixels[i] != init.Pixels[i] || result.Pixels[i + 1] != init.Pixels[i + 1] || result.Pixels[i + 2] != init.Pixels[i + 2])
                    unchanged = false;
            }
        return (sum / n, unchanged);
    }

    [Fact]
    public void The_inpainting_unet_paints_the_prompt_into_the_box_and_leaves_every_other_pixel()
    {
        using var model = StableDiffusionModel.Load(ModelFolder.Open(Inpainting), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var pipeline = new DiffusionPipeline(model);
        var (init, mask) = Scene();
        double red = 0, blue = 0;
        for (uint seed = 1; seed <= 2; seed++)
        {
            GenerationRequest Request(string prompt) => new()
            {
                Prompt = prompt, Seed = seed, Steps = 20, CfgScale = 4, InitImage = init, Mask = mask, Strength = 1,
            };
            var r = Inspect(pipeline.Generate(Request("a red circle on a yellow background"), []).Image, init);
            var b = Inspect(pipeline.Generate(Request("a blue square on a yellow background"), []).Image, init);
            Assert.True(r.OutsideUnchanged && b.OutsideUnchanged, "a pixel outside the mask changed");
            red += r.RedMinusBlue;
            blue += b.RedMinusBlue;
        }
        output.WriteLine($"red - blue inside the box: {red / 2:0.0} for a red circle, {blue / 2:0.0} for a blue square");
        Assert.True(red - blue > 40, $"red - blue inside the box: {red / 2:0.0} for a red circle, {blue / 2:0.0} for a blue square");
    }

    [Fact]
    public void A_plain_unet_inpaints_by_keeping_the_unmasked_latents_on_the_init_path()
    {
        using var model = StableDiffusionModel.Load(ModelFolder.Open(RepoPaths.TinySd), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var (init, mask) = Scene();
        var request = new GenerationRequest { Prompt = "a green circle on a yellow background", Seed = 3, Steps = 12, CfgScale = 4, InitImage = init, Mask = mask, Strength = 1 };
        var result = new DiffusionPipeline(model).Generate(request, []).Image;
        Assert.True(Inspect(result, init).OutsideUnchanged);
        var changed = Enumerable.Range(0, 128 * 128).Count(i => InBox(i % 128, i / 128) && result.Pixels[3 * i + 1] != init.Pixels[3 * i + 1]);
        Assert.True(changed > 1000, $"{changed} pixels changed inside the box");
        Assert.Contains("init image", Assert.Throws<ArgumentException>(() =>
            new DiffusionPipeline(model).Generate(request with { InitImage = null }, [])).Message);
    }

    [Fact]
    public void A_components_from_folder_that_does_not_exist_is_named()
    {
        var root = Path.Combine(_dir, "lonely");
        Directory.CreateDirectory(Path.Combine(root, "unet"));
        File.Copy(Path.Combine(Inpainting, "unet", "model.onnx"), Path.Combine(root, "unet", "model.onnx"));
        File.WriteAllText(Path.Combine(root, "model_index.json"), "{}");
        File.WriteAllText(Path.Combine(root, "controlhost.json"), """{"components_from": "../no-such-base"}""");
        var e = Assert.Throws<InvalidDataException>(() => ModelFolder.Open(root));
        Assert.Contains("no-such-base", e.Message);
    }
}
