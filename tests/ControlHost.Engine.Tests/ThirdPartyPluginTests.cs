using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Pipeline;
using ControlHost.Plugins;

namespace ControlHost.Engine.Tests;

/// <summary>
/// samples/ControlHost.Sample.Sobel is built here, outside the solution and against the contract assembly alone,
/// then loaded from its folder and used in a generation: a new condition type without touching the host.
/// </summary>
public class ThirdPartyPluginTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>, IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("controlhost-sample-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Fact]
    public void A_plugin_built_outside_the_solution_adds_a_condition_type_that_works_in_a_generation()
    {
        var project = Path.Combine(RepoPaths.Root, "samples", "ControlHost.Sample.Sobel", "ControlHost.Sample.Sobel.csproj");
        DotnetCli.Run(_out, null, "build", project, "-o", _out, $"-p:ControlHostAbstractions={typeof(IControlHostPlugin).Assembly.Location}", "-nologo");
        Assert.False(File.Exists(Path.Combine(_out, "ControlHost.Abstractions.dll")), "the contract must come from the host, not the plugin folder");

        using var host = new PluginHost(f.Registry);
        host.LoadFrom([_out]);
        Assert.Empty(host.Failed);
        var result = f.Service.Generate(new GenerationJob { Prompt = "a red square", Seed = 2, Steps = 4,
            Units = [new UnitSpec { Condition = "sobel", Image = EmbeddedModelFixture.Scene(1) }] });
        Assert.Empty(result.Warnings);
        Assert.Contains("Module: sobel, Model: controlnet-tiny-canny", result.Images[0].Infotext);
    }
}
