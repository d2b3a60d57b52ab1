using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using Microsoft.AspNetCore.Builder;

namespace ControlHost.Server.Tests;

/// <summary>
/// A server started over an A1111 models folder with the reduced SD 1.x files (tests/fixtures/ldm-small): the A1111 routes
/// list the checkpoint, the ControlNet file, the LoRA and the embedding by name, and txt2img generates with all four.
/// </summary>
public sealed class UserFilesServerTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"controlhost-server-user-{Guid.NewGuid():N}");
    private WebApplication? _app;
    private HttpClient _client = new();

    public async Task InitializeAsync()
    {
        var fixtures = Path.Combine(ServerFixture.Root, "tests", "fixtures", "ldm-small");
        void Place(string name, string relative)
        {
            var target = Path.Combine(_root, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(Path.Combine(fixtures, name), target);
        }
        Place("checkpoint.safetensors", "models/Stable-diffusion/small-sd15.safetensors");
        Place("controlnet.safetensors", "models/ControlNet/control_small_sd15_canny.safetensors");
        Place("lora.safetensors", "models/Lora/small-lora.safetensors");
        Place("embedding.safetensors", "embeddings/smallemb.safetensors");
        // The reduced SDXL checkpoint and its diffusers ControlNet beside them.
        File.Copy(Path.Combine(fixtures, "..", "sdxl-small", "checkpoint.safetensors"), Path.Combine(_root, "models/Stable-diffusion/small-sdxl.safetensors"));
        File.Copy(Path.Combine(fixtures, "..", "sdxl-small", "controlnet-diffusers.safetensors"), Path.Combine(_root, "models/ControlNet/control_small_sdxl_canny.safetensors"));
        File.Copy(Path.Combine(fixtures, "..", "sdxl-small", "lora.safetensors"), Path.Combine(_root, "models/Lora/small-sdxl-lora.safetensors"));
        File.Copy(Path.Combine(fixtures, "..", "sdxl-small", "controlnet-union.safetensors"), Path.Combine(_root, "models/ControlNet/controlnet-union-small-sdxl.safetensors"));
        var settings = ServerFixture.Settings() with
        {
            Service = new ServiceOptions
            {
                ModelRoots = [_root, Path.Combine(ServerFixture.Root, "models")], CacheRoot = Path.Combine(_root, "cache"),
                Paths = PathPolicy.NamesOnly, Device = Engine.Onnx.DeviceChoice.Cpu, Threads = 2,
            },
        };
        (_app, _client) = await ServerFixture.Start(settings);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        if (_app is not null) await _app.DisposeAsync();
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private async Task<JsonElement> Get(string path)
    {
        var text = await _client.GetStringAsync(path);
        Assert.DoesNotContain(_root, text); // names only: no server path leaves the server
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task The_A1111_lists_name_the_checkpoint_ControlNet_LoRA_and_embedding()
    {
        var models = await Get("/sdapi/v1/sd-models");
        Assert.Contains(models.EnumerateArray(), m => m.GetProperty("model_name").GetString() == "small-sd15"
            && m.GetProperty("title").GetString()!.StartsWith("small-sd15 [", StringComparison.Ordinal));
        var loras = await Get("/sdapi/v1/loras");
        var lora = Assert.Single(loras.EnumerateArray(), l => l.GetProperty("name").GetString() == "small-lora");
        Assert.Equal("small-lora", lora.GetProperty("name").GetString());
        Assert.Equal("4", lora.GetProperty("metadata").GetProperty("ss_network_dim").GetString());
        var embeddings = await Get("/sdapi/v1/embeddings");
        var e = embeddings.GetProperty("loaded").GetProperty("smallemb");
        Assert.Equal(2, e.GetProperty("vectors").GetInt32());
        Assert.Equal(64, e.GetProperty("shape").GetInt32());
        var controlnets = await Get("/controlnet/model_list");
        Assert.Contains(controlnets.GetProperty("model_list").EnumerateArray(), n => n.GetString()!.StartsWith("control_small_sd15_canny [", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Txt2img_generates_from_the_checkpoint_with_a_LoRA_an_embedding_and_the_ControlNet_file()
    {
        var set = await _client.PostAsync("/sdapi/v1/options", Json(new { sd_model_checkpoint = "small-sd15" }));
        Assert.True(set.IsSuccessStatusCode, await set.Content.ReadAsStringAsync());
        var body = new
        {
            prompt = "a photo of smallemb <lora:small-lora:0.7>", steps = 3, seed = 5, width = 64, height = 64, cfg_scale = 5,
            alwayson_scripts = new
            {
                ControlNet = new
                {
                    args = new object[] { new { enabled = true, module = "canny", model = "control_small_sd15_canny", image = ServerFixture.Example("star-scene.png") } },
                },
            },
        };
        using var response = await _client.PostAsync("/sdapi/v1/txt2img", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var result = JsonDocument.Parse(text).RootElement;
        var info = JsonDocument.Parse(result.GetProperty("info").GetString()!).RootElement;
        var infotext = info.GetProperty("infotexts")[0].GetString()!;
        Assert.Contains("Model: small-sd15", infotext);
        Assert.Contains("Lora hashes: \"small-lora: ", infotext);
        Assert.Contains("Model: control_small_sd15_canny", infotext);
        Assert.DoesNotContain(_root, text);
    }

    [Fact]
    public async Task Each_checkpoint_is_listed_with_its_family_and_native_size_for_the_page()
    {
        var checkpoints = (await Get("/controlhost/v1/models")).GetProperty("checkpoints").EnumerateArray()
            .ToDictionary(m => m.GetProperty("name").GetString()!, m => (m.GetProperty("family").GetString(), m.GetProperty("native_size").GetInt32()));
        Assert.Equal(("sdxl", 1024), checkpoints["small-sdxl"]);
        Assert.Equal(("sd1", 512), checkpoints["small-sd15"]);
        Assert.Equal("sd1", checkpoints["tiny-sd"].Item1);
    }

    [Fact]
    public async Task Txt2img_on_the_SDXL_checkpoint_picks_the_SDXL_ControlNet_for_a_canny_unit_and_skips_the_SD1_embedding_with_a_word()
    {
        var body = new
        {
            prompt = "a photo of smallemb <lora:small-sdxl-lora:0.8>", steps = 2, seed = 5, width = 64, height = 64, cfg_scale = 5,
            override_settings = new { sd_model_checkpoint = "small-sdxl" },
            alwayson_scripts = new { ControlNet = new { args = new object[] { new { enabled = true, module = "canny", image = ServerFixture.Example("star-scene.png") } } } },
        };
        using var response = await _client.PostAsync("/sdapi/v1/txt2img", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var info = JsonDocument.Parse(JsonDocument.Parse(text).RootElement.GetProperty("info").GetString()!).RootElement;
        var infotext = info.GetProperty("infotexts")[0].GetString()!;
        Assert.Contains("Model: small-sdxl", infotext);
        Assert.Contains("Model: control_small_sdxl_canny", infotext);
        Assert.Contains(info.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("smallemb") && w.GetString()!.Contains("made for another base"));
        Assert.Contains("Lora hashes: \"small-sdxl-lora: ", infotext);
    }

    [Fact]
    public async Task A_union_ControlNet_serves_a_canny_unit_and_a_union_control_type_it_lacks_is_a_422_naming_the_types_it_has()
    {
        object Body(string? unionType) => new
        {
            prompt = "a red square", steps = 2, seed = 5, width = 64, height = 64, cfg_scale = 5,
            override_settings = new { sd_model_checkpoint = "small-sdxl" },
            alwayson_scripts = new
            {
                ControlNet = new
                {
                    args = new object[]
                    {
                        new { enabled = true, module = "canny", model = "controlnet-union-small-sdxl", union_control_type = unionType, image = ServerFixture.Example("star-scene.png") },
                    },
                },
            },
        };
        using var response = await _client.PostAsync("/sdapi/v1/txt2img", Json(Body("Unknown")));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        var infotext = JsonDocument.Parse(JsonDocument.Parse(text).RootElement.GetProperty("info").GetString()!).RootElement.GetProperty("infotexts")[0].GetString()!;
        Assert.Contains("Model: controlnet-union-small-sdxl", infotext);
        using var tile = await _client.PostAsync("/sdapi/v1/txt2img", Json(Body("Tile")));
        var tileText = await tile.Content.ReadAsStringAsync();
        Assert.Equal(422, (int)tile.StatusCode);
        Assert.Contains("has no control type 'Tile'", tileText);
        Assert.Contains("openpose, depth, soft_edge, hard_edge, normal, segment", tileText);
    }

    [Fact]
    public async Task On_the_page_picking_the_SDXL_checkpoint_sets_its_size_and_offers_its_familys_ControlNets()
    {
        var chromium = Environment.GetEnvironmentVariable("CONTROLHOST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), $"no browser at {chromium}");
        using var playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync();
        var pageErrors = new List<string>();
        page.PageError += (_, message) => pageErrors.Add(message);
        await page.GotoAsync(_client.BaseAddress!.ToString());
        await Microsoft.Playwright.Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("ready");
        await page.ClickAsync("#add-unit");
        var unit = page.Locator("#units .unit").First;
        await unit.Locator(".condition").SelectOptionAsync("canny");
        async Task<string> Models() => string.Join(",", await unit.Locator(".model option").AllTextContentsAsync());

        await page.Locator("#checkpoint").SelectOptionAsync("small-sdxl");
        Assert.Equal("1024", await page.InputValueAsync("#width"));
        Assert.Equal("1024", await page.InputValueAsync("#height"));
        var sdxl = await Models();
        Assert.Contains("control_small_sdxl_canny", sdxl);
        Assert.Contains("controlnet-union-small-sdxl", sdxl); // a union ControlNet serves canny too
        Assert.DoesNotContain("control_small_sd15_canny", sdxl);

        await page.Locator("#checkpoint").SelectOptionAsync("small-sd15");
        Assert.Equal("512", await page.InputValueAsync("#width"));
        var sd15 = await Models();
        Assert.Contains("control_small_sd15_canny", sd15);
        Assert.DoesNotContain("control_small_sdxl_canny", sd15);
        Assert.Empty(pageErrors);
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
