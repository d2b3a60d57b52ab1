using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;
using ControlHost.Plugins;

namespace ControlHost.Engine.Tests;

public class PluginHostTests : IDisposable
{
    private static readonly string Shipped = Path.Combine(RepoPaths.Root, "artifacts", "plugins");
    private static readonly string TestPlugins = Path.Combine(RepoPaths.Root, "artifacts", "test-plugins");
    private readonly string _dir = Directory.CreateTempSubdirectory("controlhost-plugins-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static PluginHost Load(params string[] roots)
    {
        var host = new PluginHost(new ConditionRegistry(), TimeSpan.FromSeconds(2));
        host.LoadFrom(roots);
        return host;
    }

    [Fact]
    public void Shipped_plugins_load_and_register_their_condition_types()
    {
        using var host = Load(Shipped);
        Assert.Empty(host.Failed);
        foreach (var id in new[] { "canny", "lines", "lsd", "scribble", "softedge", "intensity", "pose", "depth", "seg", "colour",
                     "colour_grid", "shuffle", "tile", "inpaint", "reference" })
            Assert.NotNull(host.Registry.Find(id));
        Assert.Equal("lsd", host.Registry.Find("mlsd")!.Id);
        Assert.Equal("colour_grid", host.Registry.Find("color")!.Id);
        Assert.Equal("canny", host.Registry.Find("canny_edges")!.Id);
        Assert.Equal(new Version(ContractVersion.Major, ContractVersion.Minor, 0, 0),
            PluginHost.ReferencedContract(Path.Combine(Shipped, "canny", "ControlHost.Plugin.Canny.dll")));
    }

    [Fact]
    public void A_plugin_that_throws_while_registering_adds_nothing_and_the_others_load()
    {
        using var host = Load(TestPlugins, Shipped);
        var failed = Assert.Single(host.Failed);
        Assert.Equal("bad-register", failed.Id);
        Assert.Contains("registration exploded", failed.Reason);
        Assert.Null(host.Registry.Find("half-registered"));
        Assert.NotNull(host.Registry.Find("faulty-throw"));
        Assert.NotNull(host.Registry.Find("canny"));
    }

    [Fact]
    public void A_plugin_for_another_contract_major_is_refused_naming_both_versions()
    {
        var folder = Path.Combine(_dir, "future");
        Directory.CreateDirectory(folder);
        File.Copy(Path.Combine(Shipped, "canny", "ControlHost.Plugin.Canny.dll"), Path.Combine(folder, "ControlHost.Plugin.Canny.dll"));
        File.WriteAllText(Path.Combine(folder, "plugin.json"),
            """{"id": "future-canny", "version": "9.0.0", "contract": "2.0", "assembly": "ControlHost.Plugin.Canny.dll"}""");
        using var host = Load(_dir);
        var failed = Assert.Single(host.Failed);
        Assert.Contains("contract 2.0", failed.Reason);
        Assert.Contains($"contract {ContractVersion.Text}", failed.Reason);
    }

    [Theory]
    [InlineData("{}", "\"id\" is missing")]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"id": "x", "version": "1", "contract": "1.0", "assembly": "missing.dll"}""", "not found")]
    [InlineData("""{"id": "x", "version": "1", "contract": "1.0", "assembly": "../escape.dll"}""", "file name")]
    public void Broken_manifests_are_reported_not_thrown(string manifest, string expected)
    {
        var folder = Path.Combine(_dir, "broken");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "plugin.json"), manifest);
        using var host = Load(_dir);
        Assert.Contains(expected, Assert.Single(host.Failed).Reason);
    }

    [Fact]
    public void A_preprocessor_that_throws_is_reported_with_the_plugin_and_the_host_goes_on()
    {
        using var host = Load(TestPlugins);
        var type = host.Registry.Get("faulty-throw");
        var e = Assert.Throws<PluginException>(() => type.Preprocess(RgbImage.Black(8, 8), OptionValues.Resolve([], null), CancellationToken.None));
        Assert.Contains("plugin 'faulty'", e.Message);
        Assert.Contains("boom", e.Message);
    }

    [Fact]
    public void A_preprocessor_that_hangs_is_abandoned_after_the_time_limit()
    {
        using var host = Load(TestPlugins);
        var type = host.Registry.Get("faulty-hang");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<PluginException>(() => type.Preprocess(RgbImage.Black(8, 8), OptionValues.Resolve([], null), CancellationToken.None));
        Assert.Contains("longer than 2 s", e.Message);
        Assert.InRange(clock.Elapsed.TotalSeconds, 1.5, 10);
    }

    [Fact]
    public void A_global_hint_with_non_finite_values_is_refused()
    {
        using var host = Load(TestPlugins);
        var e = Assert.Throws<PluginException>(() =>
            host.Registry.Get("faulty-nan").Preprocess(RgbImage.Black(8, 8), OptionValues.Resolve([], null), CancellationToken.None));
        Assert.Contains("finite", e.Message);
    }
}
