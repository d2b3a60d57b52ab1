using ControlHost.Abstractions;
using ControlHost.Checkpoints.Import;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Plugins;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// A plugin written against contract 1.3 (tests/TestPlugins/ControlHost.TestPlugin.FamilyBias): its residual branch reads
/// the family and conditioning every residual request carries, and runs on an SD 1.x model (the embedded tiny-sd), an
/// SD 2.x one and an SDXL one (the reduced checkpoints; SDXL's pooled embedding reaches the plugin), scaled per family.
/// </summary>
public sealed class PluginFamiliesTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir("plugin-families");
    private readonly ConditionRegistry _registry = new();
    private readonly PluginHost _host;

    public PluginFamiliesTests()
    {
        _host = new PluginHost(_registry);
        _host.LoadFrom([Path.Combine(Fixtures.Repo, "artifacts", "test-plugins", "family-bias")]);
    }

    private ControlUnit Unit(StableDiffusionModel model, string families, int size)
    {
        var type = (IBranchConditionType)_registry.Find("family_bias")!;
        var options = OptionValues.Resolve(type.Options, new Dictionary<string, string> { ["families"] = families });
        var pipeline = new DiffusionPipeline(model);
        var branch = type.CreateBranch(new BranchContext("unit 1 (family_bias)", ConditionHint.FromImage(RgbImage.Black(size, size)), options, size, size,
            image => new FloatTensor(pipeline.EncodeLatent(image), 1, 4, size / 8, size / 8), 1));
        return new ControlUnit { Branch = branch, Module = "family_bias", ModelName = "family_bias" };
    }

    [Fact]
    public void One_plugin_branch_runs_on_SD1_SD2_and_SDXL_models_and_knows_which()
    {
        Assert.Empty(_host.Failed);
        var sd2Folder = CheckpointImporter.Import(Path.Combine(Fixtures.Sd2Dir, "checkpoint.safetensors"), Path.Combine(_dir, "sd2"),
            Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer")).Folder;
        var sdxlFolder = CheckpointImporter.Import(Path.Combine(Fixtures.SdxlDir, "checkpoint.safetensors"), Path.Combine(_dir, "sdxl"),
            Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer")).Folder;
        foreach (var (folder, size) in new[] { (Path.Combine(Fixtures.Repo, "models", "tiny-sd"), 128), (sd2Folder, 64), (sdxlFolder, 64) })
        {
            using var model = StableDiffusionModel.Load(ModelFolder.Open(folder), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
            var request = new GenerationRequest { Prompt = "a red square", Width = size, Height = size, Steps = 3, Seed = 2, CfgScale = 4 };
            var pipeline = new DiffusionPipeline(model);
            var plain = pipeline.Generate(request, []).Image.Pixels;
            var biased = pipeline.Generate(request, [Unit(model, "sd1=0.3,sd2=0.3,sdxl=3", size)]).Image.Pixels;
            Assert.NotEqual(plain, biased);
            // The same unit without a strength for this family refuses, naming the model's family.
            var other = model.Family.Id == "sd1" ? "sd2=0.3" : "sd1=0.3";
            var e = Assert.Throws<BranchException>(() => pipeline.Generate(request, [Unit(model, other, size)]));
            Assert.Contains($"the model is {model.Family.Id}", e.Message);
        }
    }

    public void Dispose()
    {
        _host.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
