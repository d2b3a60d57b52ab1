using System.Text;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ControlHost.Server.Tests;

/// <summary>The A1111 routes clients call on connect or for extras (issue 25): answered in A1111's shapes, never 404.</summary>
public sealed class A1111RoutesTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private static string Png(int width, int height)
    {
        using var image = new Image<Rgb24>(width, height);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                image[x, y] = new Rgb24((byte)(x * 37), (byte)(y * 53), (byte)(x * y));
        using var ms = new MemoryStream();
        image.SaveAsPng(ms);
        return Convert.ToBase64String(ms.ToArray());
    }

    private static Image<Rgb24> Decode(string b64) => Image.Load<Rgb24>(Convert.FromBase64String(b64));

    [Theory]
    [InlineData("/sdapi/v1/sd-vae")]
    [InlineData("/sdapi/v1/hypernetworks")]
    [InlineData("/sdapi/v1/face-restorers")]
    [InlineData("/sdapi/v1/realesrgan-models")]
    [InlineData("/sdapi/v1/prompt-styles")]
    public async Task Lists_of_what_ControlHost_lacks_are_empty_as_in_an_A1111_with_nothing_installed(string route)
    {
        var (status, body) = await f.Get(route);
        Assert.Equal(200, status);
        Assert.Equal(JsonValueKind.Array, body.ValueKind);
        Assert.Equal(0, body.GetArrayLength());
    }

    [Fact]
    public async Task Upscalers_schedulers_scripts_flags_and_memory_answer_in_A1111s_shape()
    {
        var upscalers = (await f.Get("/sdapi/v1/upscalers")).Body;
        Assert.Equal(["None", "Lanczos", "Nearest"], upscalers.EnumerateArray().Select(u => u.GetProperty("name").GetString()));
        Assert.All(upscalers.EnumerateArray(), u => Assert.Equal(4, u.GetProperty("scale").GetInt32()));
        var latent = (await f.Get("/sdapi/v1/latent-upscale-modes")).Body;
        Assert.Equal(["Latent", "Latent (antialiased)", "Latent (bicubic)", "Latent (bicubic antialiased)", "Latent (nearest)", "Latent (nearest-exact)"],
            latent.EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        var schedulers = (await f.Get("/sdapi/v1/schedulers")).Body;
        Assert.Equal("automatic", schedulers[0].GetProperty("name").GetString());
        Assert.Equal("Automatic", schedulers[0].GetProperty("label").GetString());
        var scripts = (await f.Get("/sdapi/v1/scripts")).Body;
        Assert.Equal(JsonValueKind.Array, scripts.GetProperty("txt2img").ValueKind);
        var flags = (await f.Get("/sdapi/v1/cmd-flags")).Body;
        Assert.True(flags.GetProperty("api").GetBoolean());
        Assert.Equal(JsonValueKind.Null, flags.GetProperty("api_auth").ValueKind);
        var memory = (await f.Get("/sdapi/v1/memory")).Body;
        Assert.True(memory.GetProperty("ram").GetProperty("total").GetInt64() > memory.GetProperty("ram").GetProperty("used").GetInt64());
    }

    [Fact]
    public async Task Interrogate_says_which_model_it_lacks()
    {
        using var response = await f.Client.PostAsync("/sdapi/v1/interrogate", new StringContent($$"""{"image": "{{Png(8, 8)}}", "model": "clip"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(501, (int)response.StatusCode);
        Assert.Contains("captioning model", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Extras_upscales_with_Nearest_pixel_for_pixel_and_with_Lanczos_to_the_size_asked()
    {
        var source = Png(16, 12);
        var (status, body) = await f.Post("/sdapi/v1/extra-single-image", new { image = source, upscaling_resize = 2, upscaler_1 = "Nearest" });
        Assert.Equal(200, status);
        Assert.Equal("", body.GetProperty("html_info").GetString());
        using (var big = Decode(body.GetProperty("image").GetString()!))
        using (var small = Decode(source))
        {
            Assert.Equal((32, 24), (big.Width, big.Height));
            for (var y = 0; y < 24; y++)
                for (var x = 0; x < 32; x++)
                    Assert.Equal(small[x / 2, y / 2], big[x, y]);
        }
        var (sized, sizedBody) = await f.Post("/sdapi/v1/extra-single-image",
            new { image = source, resize_mode = 1, upscaling_resize_w = 40, upscaling_resize_h = 20, upscaling_crop = true, upscaler_1 = "Lanczos" });
        Assert.Equal(200, sized);
        using (var cropped = Decode(sizedBody.GetProperty("image").GetString()!)) Assert.Equal((40, 20), (cropped.Width, cropped.Height));
        // "None" leaves the image as it is, as A1111 does.
        var (none, noneBody) = await f.Post("/sdapi/v1/extra-single-image", new { image = source, upscaling_resize = 3 });
        Assert.Equal(200, none);
        using (var same = Decode(noneBody.GetProperty("image").GetString()!)) Assert.Equal((16, 12), (same.Width, same.Height));
    }

    [Fact]
    public async Task Extras_in_a_batch_upscales_every_image_and_refuses_unknown_upscalers_and_sizes_over_the_limit()
    {
        var (status, body) = await f.Post("/sdapi/v1/extra-batch-images", new
        {
            imageList = new[] { new { data = Png(8, 8), name = "a.png" }, new { data = Png(10, 6), name = "b.png" } },
            upscaling_resize = 3, upscaler_1 = "Lanczos", upscaler_2 = "Nearest", extras_upscaler_2_visibility = 0.5,
        });
        Assert.Equal(200, status);
        var sizes = body.GetProperty("images").EnumerateArray().Select(i => { using var d = Decode(i.GetString()!); return (d.Width, d.Height); }).ToList();
        Assert.Equal([(24, 24), (30, 18)], sizes);
        var (unknown, unknownBody) = await f.Post("/sdapi/v1/extra-single-image", new { image = Png(8, 8), upscaler_1 = "R-ESRGAN 4x+" });
        Assert.Equal(422, unknown);
        Assert.Contains("Lanczos", unknownBody.ToString());
        var (huge, hugeBody) = await f.Post("/sdapi/v1/extra-single-image", new { image = Png(512, 512), upscaling_resize = 16, upscaler_1 = "Nearest" });
        Assert.Equal(422, huge);
        Assert.Contains("--max-work-pixels", hugeBody.ToString());
    }

    [Fact]
    public async Task Refresh_checkpoints_finds_a_model_added_after_the_start()
    {
        var root = Directory.CreateTempSubdirectory("controlhost-refresh-").FullName;
        try
        {
            Directory.CreateSymbolicLink(Path.Combine(root, "tiny-sd"), Path.Combine(ServerFixture.Root, "models", "tiny-sd"));
            var settings = ServerFixture.Settings();
            var (app, client) = await ServerFixture.Start(settings with { Service = settings.Service with { ModelRoots = [root] } });
            await using var _ = app;
            string Names(string json) => string.Join(",", JsonDocument.Parse(json).RootElement.EnumerateArray().Select(m => m.GetProperty("model_name").GetString()));
            Assert.DoesNotContain("added-sd", Names(await client.GetStringAsync("/sdapi/v1/sd-models"))); // the folders are scanned by now
            Directory.CreateSymbolicLink(Path.Combine(root, "added-sd"), Path.Combine(ServerFixture.Root, "models", "tiny-sd"));
            Assert.DoesNotContain("added-sd", Names(await client.GetStringAsync("/sdapi/v1/sd-models")));
            using var refresh = await client.PostAsync("/sdapi/v1/refresh-checkpoints", null);
            Assert.Equal("null", await refresh.Content.ReadAsStringAsync());
            Assert.Contains("added-sd", Names(await client.GetStringAsync("/sdapi/v1/sd-models")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("/sdapi/v1/options", "{\"sd_model_checkpoint\": \"tiny-sd\"}")]
    [InlineData("/sdapi/v1/skip", null)]
    [InlineData("/sdapi/v1/refresh-loras", null)]
    public async Task Posts_that_A1111_answers_with_null_answer_a_JSON_null(string route, string? body)
    {
        // Clients that decode the answer raised on the empty body these routes gave.
        using var response = await f.Client.PostAsync(route, body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("null", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Enable_hr_makes_the_larger_image_with_A1111s_infotext_and_units_in_the_passes_asked()
    {
        // Issue 25: enable_hr with hr_scale 2 returned the first pass's size without a word.
        var unit = new { module = "canny", model = "controlnet-tiny-canny", image = ServerFixture.Example("star-scene.png"), hr_option = "Low res only" };
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new
        {
            prompt = "a red star", steps = 6, seed = 2, width = 64, height = 64, enable_hr = true, hr_scale = 2, hr_upscaler = "Latent (bicubic)",
            hr_second_pass_steps = 4, denoising_strength = 0.55, hr_sampler_name = "DDIM", alwayson_scripts = new { ControlNet = new { args = new[] { unit } } },
        });
        Assert.True(status == 200, body.ToString());
        using (var image = Decode(body.GetProperty("images")[0].GetString()!)) Assert.Equal((128, 128), (image.Width, image.Height));
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        var infotext = info.GetProperty("infotexts")[0].GetString()!;
        Assert.Contains("Size: 64x64", infotext);
        Assert.Contains("Hires upscale: 2, Hires steps: 4, Hires upscaler: Latent (bicubic), Denoising strength: 0.55", infotext);
        Assert.Contains("Hires sampler: DDIM", infotext);
        Assert.DoesNotContain(info.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("hires"));
        var (bad, badBody) = await f.Post("/sdapi/v1/txt2img", new { prompt = "x", steps = 2, enable_hr = true, hr_upscaler = "4x-UltraSharp" });
        Assert.Equal(422, bad);
        Assert.Contains("Latent (nearest-exact)", badBody.ToString());
    }

    [Theory]
    [InlineData("DPM++ 2M", "Karras", "Sampler: DPM++ 2M Karras")]
    [InlineData("DPM++ 2M", "Automatic", "Sampler: DPM++ 2M,")]
    [InlineData("Euler", "automatic", "Sampler: Euler,")]
    public async Task The_scheduler_field_combines_with_the_sampler_as_A1111_1_9_does(string sampler, string scheduler, string expected)
    {
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new { prompt = "x", steps = 2, width = 64, height = 64, sampler_name = sampler, scheduler });
        Assert.True(status == 200, body.ToString());
        Assert.Contains(expected, JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement.GetProperty("infotexts")[0].GetString());
    }

    [Theory]
    [InlineData("Euler a", "Karras", "DPM++ 2M only")]
    [InlineData("DPM++ 2M", "Exponential", "Automatic, Karras")]
    public async Task A_scheduler_that_does_not_exist_here_is_a_422_saying_what_does(string sampler, string scheduler, string message)
    {
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new { prompt = "x", steps = 2, sampler_name = sampler, scheduler });
        Assert.Equal(422, status);
        Assert.Contains("scheduler", body.ToString());
        Assert.Contains(message, body.ToString());
    }

    [Fact]
    public async Task Asking_for_the_SDXL_refiner_is_a_422_that_says_it_is_not_supported_while_an_empty_refiner_field_passes()
    {
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new { prompt = "x", steps = 2, width = 64, height = 64, refiner_checkpoint = "sd_xl_refiner_1.0", refiner_switch_at = 0.8 });
        Assert.Equal(422, status);
        Assert.Contains("refiner_checkpoint", body.ToString());
        Assert.Contains("not supported", body.ToString());
        var (empty, emptyBody) = await f.Post("/sdapi/v1/txt2img", new { prompt = "x", steps = 2, width = 64, height = 64, refiner_checkpoint = "", refiner_switch_at = 0.8 });
        Assert.True(empty == 200, emptyBody.ToString());
    }
}
