using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using System.IO.Compression;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Pipeline;
using ControlHost.Plugins;

namespace ControlHost.Engine.Tests;

/// <summary>
/// The plugin author's path end to end: the contract packed as a NuGet package (with its XML docs), the dotnet new
/// template installed from templates/, a plugin made from it and built outside the solution against the package,
/// then loaded from its folder and used in a generation.
/// </summary>
public class TemplatePluginTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("controlhost-template-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Dotnet(params string[] args) => DotnetCli.Run(_dir, new Dictionary<string, string>
    {
        // The template engine and NuGet write under the home folder; keep them inside the test's folder.
        ["DOTNET_CLI_HOME"] = Path.Combine(_dir, "home"), ["DOTNET_NOLOGO"] = "1", ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
    }, args);

    [Fact]
    public void A_plugin_made_from_the_template_builds_against_the_packed_contract_loads_and_generates()
    {
        var feed = Path.Combine(_dir, "feed");
        var hive = Path.Combine(_dir, "hive");
        Dotnet("pack", Path.Combine(RepoPaths.Root, "src", "ControlHost.Abstractions"), "-o", feed);
        var package = Directory.GetFiles(feed, "ControlHost.Abstractions.*.nupkg").Single();
        using (var zip = ZipFile.OpenRead(package))
            Assert.Contains(zip.Entries, e => e.FullName == "lib/net10.0/ControlHost.Abstractions.xml");

        Dotnet("new", "install", Path.Combine(RepoPaths.Root, "templates", "condition-plugin"), "--debug:custom-hive", hive);
        var project = Path.Combine(_dir, "Posterise");
        Dotnet("new", "controlhost-condition", "-n", "Posterise", "--conditionId", "posterise", "-o", project, "--debug:custom-hive", hive);
        var output = Path.Combine(_dir, "out");
        Dotnet("build", project, "-o", output, "--source", feed, $"-p:RestorePackagesPath={Path.Combine(_dir, "packages")}");
        Assert.False(File.Exists(Path.Combine(output, "ControlHost.Abstractions.dll")), "the contract must come from the host");

        using var host = new PluginHost(f.Registry);
        host.LoadFrom([output]);
        Assert.Empty(host.Failed);
        var result = f.Service.Generate(new GenerationJob { Prompt = "a red square", Seed = 2, Steps = 4, Units = [new UnitSpec { Condition = "posterise",
            Image = EmbeddedModelFixture.Scene(1), Options = new Dictionary<string, string> { ["levels"] = "3" } }] });
        Assert.Empty(result.Warnings);
        Assert.Contains("Module: posterise, Model: controlnet-tiny-canny", result.Images[0].Infotext);
    }
}
