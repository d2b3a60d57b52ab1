using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Tests;

public class BadModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("controlhost-models-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string CopyTinySd()
    {
        var target = Path.Combine(_dir, "broken-sd");
        foreach (var file in Directory.GetFiles(RepoPaths.TinySd, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(target, Path.GetRelativePath(RepoPaths.TinySd, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
        return target;
    }

    [Fact]
    public void Missing_model_folder_is_named()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => new ModelCatalog([_dir]).ResolveModel(Path.Combine(_dir, "nope")));
        Assert.Contains("nope", e.Message);
    }

    [Fact]
    public void Folder_without_the_parts_lists_what_is_missing()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "half"));
        File.WriteAllText(Path.Combine(_dir, "half", "model_index.json"), "{}");
        var e = Assert.Throws<InvalidDataException>(() => ModelFolder.Open(Path.Combine(_dir, "half")));
        Assert.Contains("unet", e.Message);
        Assert.Contains("text_encoder", e.Message);
    }

    [Fact]
    public void An_onnx_file_that_is_not_a_model_is_named()
    {
        var root = CopyTinySd();
        File.WriteAllText(Path.Combine(root, "unet", "model.onnx"), "this is not protobuf");
        var e = Assert.Throws<ModelLoadException>(() => StableDiffusionModel.Load(ModelFolder.Open(root), ExecutionDevice.Resolve(DeviceChoice.Cpu)));
        Assert.Contains(Path.Combine("unet", "model.onnx"), e.Message);
    }

    [Fact]
    public void A_controlnet_whose_residuals_do_not_match_the_unet_is_refused_with_the_unit()
    {
        // The UNet itself stands in for a ControlNet made for something else: no controlnet_cond, one output.
        var cn = Path.Combine(_dir, "controlnet-wrong");
        Directory.CreateDirectory(cn);
        File.Copy(Path.Combine(RepoPaths.TinySd, "unet", "model.onnx"), Path.Combine(cn, "model.onnx"));
        File.WriteAllText(Path.Combine(cn, "controlnet.json"), """{"condition": "canny", "base": "other"}""");
        using var service = new GenerationService(new ServiceOptions
        {
            ModelRoots = [_dir, RepoPaths.Models], Device = DeviceChoice.Cpu, Paths = Application.Sources.PathPolicy.Local,
        });
        var unit = new UnitSpec { Condition = "canny", Image = EmbeddedModelFixture.Scene(0), Model = cn };
        var e = Assert.Throws<BadInputException>(() => service.Generate(new GenerationJob { Prompt = "a star", Steps = 2, Units = [unit] }));
        Assert.StartsWith("unit 1 (canny)", e.Message);
        Assert.Contains("controlnet-wrong", e.Message);
    }
}
