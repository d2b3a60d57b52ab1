using ControlHost.Abstractions;
using ControlHost.Application.Generation;
using ControlHost.Application.Models;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Engine.Tests;

/// <summary>
/// The generation service over the embedded models (CPU, 2 threads), made once for a test class, as every caller
/// makes it; the tiny model is leased for the fixture's life so engine-level tests can drive its pipeline directly.
/// </summary>
public sealed class EmbeddedModelFixture : IDisposable
{
    private readonly ModelPool.ModelLease _lease;

    public EmbeddedModelFixture()
    {
        // The shipped condition types, loaded as the host loads them: plugins from artifacts/plugins.
        Service = new GenerationService(new ServiceOptions
        {
            ModelRoots = [RepoPaths.Models], Device = DeviceChoice.Cpu, Threads = 2, Paths = PathPolicy.Local,
        });
        _lease = Service.Pool.Acquire(Service.ResolveModel(ModelCatalog.DefaultModelName));
        Pipeline = new DiffusionPipeline(Model);
    }

    public GenerationService Service { get; }
    public ModelCatalog Catalog => Service.Catalog;
    public StableDiffusionModel Model => _lease.Model;
    public ConditionRegistry Registry => Service.Conditions;
    public DiffusionPipeline Pipeline { get; }

    /// <summary>Units resolved as the service resolves them, and the lines for units a plugin failure disabled.</summary>
    public (IReadOnlyList<ControlUnit> Units, IReadOnlyList<string> Disabled) Resolve(params UnitSpec[] specs) =>
        new UnitResolver(Registry, Catalog, PathPolicy.Local, ImageBudget.Default).Resolve(specs, Model, 128, 128);

    public IReadOnlyList<ControlUnit> Units(params UnitSpec[] specs) => Resolve(specs).Units;

    /// <summary>The fixture's standard job: 20 steps, guidance 5, 128x128.</summary>
    public static GenerationJob Job(string prompt, uint seed, params UnitSpec[] units) =>
        new() { Prompt = prompt, Seed = seed, Steps = 20, CfgScale = 5, Width = 128, Height = 128, Units = units };

    public GeneratedImage Generate(string prompt, uint seed, params UnitSpec[] units) => Service.Generate(Job(prompt, seed, units)).Images[0];

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
        _lease.Dispose();
        Service.Dispose();
    }
}
