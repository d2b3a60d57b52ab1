using ControlHost.Abstractions;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Plugins;

namespace ControlHost.Engine.Tests;

/// <summary>The embedded tiny model loaded once for all generation tests (CPU, 2 threads).</summary>
public sealed class EmbeddedModelFixture : IDisposable
{
    public EmbeddedModelFixture()
    {
        Catalog = new ModelCatalog([RepoPaths.Models]);
        Model = StableDiffusionModel.Load(Catalog.ResolveModel(ModelCatalog.DefaultModelName), ExecutionDevice.Resolve(DeviceChoice.Cpu, threads: 2));
        // The shipped condition types, loaded as the host loads them: plugins from artifacts/plugins.
        Plugins = PluginHost.LoadDefault();
        Registry = Plugins.Registry;
        Pipeline = new DiffusionPipeline(Model);
    }

    public ModelCatalog Catalog { get; }
    public StableDiffusionModel Model { get; }
    public PluginHost Plugins { get; }
    public ConditionRegistry Registry { get; }
    public DiffusionPipeline Pipeline { get; }

    public IReadOnlyList<ControlUnit> Units(params UnitRequest[] requests) =>
        new UnitResolver(Registry, Catalog).Resolve(requests, Model, 128, 128);

    public GenerationResult Generate(string prompt, uint seed, params UnitRequest[] units) =>
        Pipeline.Generate(new GenerationRequest { Prompt = prompt, Seed = seed, Steps = 20, CfgScale = 5, Width = 128, Height = 128 },
            Units(units));

    /// <summary>A scene like the training world's: shapes with crisp borders, for edge hints.</summary>
    public static RgbImage Scene(int variant)
    {
        var bg = (byte)(variant % 2 == 0 ? 240 : 30);
        var image = TestImages.Rectangle(128, 128, 20 + variant * 7, 30, 70 + variant * 5, 90 - variant * 3, (220, 30, 30), (bg, 210, 40));
        // a second shape: a blue block
        var px = image.Pixels;
        for (var y = 70; y < 110; y++)
            for (var x = 80 - variant * 4; x < 118; x++)
                (px[(y * 128 + x) * 3], px[(y * 128 + x) * 3 + 1], px[(y * 128 + x) * 3 + 2]) = ((byte)30, (byte)70, (byte)220);
        return image;
    }

    public void Dispose()
    {
        Model.Dispose();
        Plugins.Dispose();
    }
}
