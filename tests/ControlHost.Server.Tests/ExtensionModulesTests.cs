using System.Text.Json;
using ControlHost.Checkpoints.Onnx;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ControlHost.Server.Tests;

/// <summary>
/// Issue 25: module_list and control_types list the extension's module names; a name that needs a neural estimator
/// ControlHost does not ship says where its ONNX export goes, and runs it once it is there.
/// </summary>
public sealed class ExtensionModulesTests : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("controlhost-annotators-").FullName;
    private Microsoft.AspNetCore.Builder.WebApplication? _app;
    private HttpClient _client = new();

    public async Task InitializeAsync()
    {
        foreach (var dir in Directory.GetDirectories(Path.Combine(ServerFixture.Root, "models")))
            Directory.CreateSymbolicLink(Path.Combine(_root, Path.GetFileName(dir)), dir);
        var settings = ServerFixture.Settings();
        (_app, _client) = await ServerFixture.Start(settings with { Service = settings.Service with { ModelRoots = [_root] } });
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private async Task<(int Status, JsonElement Body)> Post(string path, object body)
    {
        using var response = await _client.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task The_lists_carry_the_extensions_names_and_tags()
    {
        var internalNames = JsonDocument.Parse(await _client.GetStringAsync("/controlnet/module_list")).RootElement;
        var names = internalNames.GetProperty("module_list").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("lineart", names);
        Assert.Contains("depth_leres", names);
        Assert.Equal("depth", internalNames.GetProperty("module_detail").GetProperty("depth_leres").GetProperty("runs").GetString());
        Assert.Equal(JsonValueKind.Object, internalNames.GetProperty("module_detail").GetProperty("lineart_standard").ValueKind); // a ControlHost module now
        var labels = JsonDocument.Parse(await _client.GetStringAsync("/controlnet/module_list?alias_names=true")).RootElement;
        Assert.Contains("lineart_realistic", labels.GetProperty("module_list").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("annotators/", labels.GetProperty("module_detail").GetProperty("lineart_realistic").GetProperty("needs").GetString());
        var types = JsonDocument.Parse(await _client.GetStringAsync("/controlnet/control_types")).RootElement.GetProperty("control_types");
        foreach (var (tag, module) in new[] { ("Canny", "canny"), ("Depth", "depth_zoe"), ("OpenPose", "openpose_full"), ("Lineart", "lineart_coarse"), ("SoftEdge", "pidinet"), ("NormalMap", "normal_bae") })
            Assert.Contains(module, types.GetProperty(tag).GetProperty("module_list").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("controlnet-tiny-canny", types.GetProperty("Canny").GetProperty("model_list").ToString());
    }

    [Fact]
    public async Task A_missing_estimator_is_a_422_saying_where_its_ONNX_goes_and_runs_once_it_is_there()
    {
        var scene = ServerFixture.Example("star-scene.png");
        var (status, body) = await Post("/controlnet/detect", new { controlnet_module = "lineart_realistic", controlnet_input_images = new[] { scene } });
        Assert.Equal(422, status);
        Assert.Contains("annotators/", body.ToString());
        Assert.Contains("lineart_realistic.onnx", body.ToString());
        var (unit, unitBody) = await Post("/sdapi/v1/txt2img", new
        {
            prompt = "x", steps = 1, alwayson_scripts = new { ControlNet = new { args = new[] { new { module = "lineart", image = scene } } } },
        });
        Assert.Equal(422, unit);
        Assert.Contains("lineart_realistic.onnx", unitBody.ToString());

        // A stand-in estimator: one minus the image (lines dark on light become light on dark), at 64x64.
        var graph = new OnnxGraph("lineart-stand-in");
        var input = graph.Input("image", OnnxType.Float, 1, 3, 64, 64);
        var output = graph.Node("Sub", [graph.ConstScalar(1f), input]);
        graph.Output(output, "map", OnnxType.Float, 1, 3, 64, 64);
        Directory.CreateDirectory(Path.Combine(_root, "annotators"));
        graph.Save(Path.Combine(_root, "annotators", "lineart_realistic.onnx"), "lineart_realistic.onnx.data");
        var (ran, ranBody) = await Post("/controlnet/detect", new { controlnet_module = "lineart_realistic", controlnet_input_images = new[] { scene } });
        Assert.True(ran == 200, ranBody.ToString());
        using var map = Image.Load<Rgb24>(Convert.FromBase64String(ranBody.GetProperty("images")[0].GetString()!));
        using var source = Image.Load<Rgb24>(Convert.FromBase64String(scene));
        Assert.Equal((source.Width, source.Height), (map.Width, map.Height));
        // The background (yellow: bright red and green, dark blue) comes out inverted: dark red and green, bright blue.
        var corner = map[2, 2];
        Assert.True(corner.R < 60 && corner.G < 60 && corner.B > 150, corner.ToString());
    }

    private static string Png(int width, int height)
    {
        using var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                image[x, y] = new Rgb24((byte)(x * 7), (byte)(y * 11), (byte)(x ^ y));
        using var ms = new MemoryStream();
        image.SaveAsPng(ms);
        return Convert.ToBase64String(ms.ToArray());
    }

    [Fact]
    public async Task A_users_ONNX_upscaler_is_listed_and_upscales_in_tiles_for_extras_and_hires()
    {
        // A stand-in ESRGAN: nearest-neighbour x2 as one ONNX Resize node.
        var graph = new OnnxGraph("x2-stand-in");
        var input = graph.Input("image", OnnxType.Float, 1, 3, "h", "w");
        var output = graph.Node("Resize", [input, "", graph.ConstFloats([1, 1, 2, 2], 4)], null,
            ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));
        graph.Output(output, "upscaled", OnnxType.Float, 1, 3, "h2", "w2");
        Directory.CreateDirectory(Path.Combine(_root, "ESRGAN"));
        graph.Save(Path.Combine(_root, "ESRGAN", "2x-stand-in.onnx"), "2x-stand-in.onnx.data");
        await File.WriteAllTextAsync(Path.Combine(_root, "ESRGAN", "4x-pickled.pth"), "not opened");
        using (await _client.PostAsync("/sdapi/v1/refresh-checkpoints", null)) { }

        var upscalers = JsonDocument.Parse(await _client.GetStringAsync("/sdapi/v1/upscalers")).RootElement.EnumerateArray().ToList();
        var mine = upscalers.Single(u => u.GetProperty("name").GetString() == "2x-stand-in");
        Assert.Equal(2, mine.GetProperty("scale").GetInt32());
        Assert.DoesNotContain(upscalers, u => u.GetProperty("name").GetString()!.Contains("pickled"));

        // 300x200 runs as several 256-pixel tiles; nearest x2 is pointwise, so the result must equal the built-in Nearest.
        var source = Png(300, 200);
        var (status, body) = await Post("/sdapi/v1/extra-single-image", new { image = source, upscaling_resize = 2, upscaler_1 = "2x-stand-in" });
        Assert.True(status == 200, body.ToString());
        var (_, nearest) = await Post("/sdapi/v1/extra-single-image", new { image = source, upscaling_resize = 2, upscaler_1 = "Nearest" });
        using var a = Image.Load<Rgb24>(Convert.FromBase64String(body.GetProperty("image").GetString()!));
        using var b = Image.Load<Rgb24>(Convert.FromBase64String(nearest.GetProperty("image").GetString()!));
        Assert.Equal((600, 400), (a.Width, a.Height));
        for (var y = 0; y < 400; y += 3)
            for (var x = 0; x < 600; x += 3)
                Assert.Equal(b[x, y], a[x, y]);

        var (hires, hiresBody) = await Post("/sdapi/v1/txt2img", new
        {
            prompt = "a red star", steps = 2, seed = 1, width = 64, height = 64, enable_hr = true, hr_scale = 2, hr_upscaler = "2x-stand-in",
        });
        Assert.True(hires == 200, hiresBody.ToString());
        Assert.Contains("Hires upscaler: 2x-stand-in", JsonDocument.Parse(hiresBody.GetProperty("info").GetString()!).RootElement.GetProperty("infotexts")[0].GetString());
    }
}
