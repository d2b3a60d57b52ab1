using ControlHost.Engine.Components;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Engine.Tests;

/// <summary>The embedded inpainting model: a folder with only its UNet, the rest taken from tiny-sd.</summary>
public class InpaintingModelTests : IDisposable
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
