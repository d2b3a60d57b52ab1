using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ControlHost.Server.Tests;

/// <summary>A client written against A1111's API and the ControlNet extension's gets what they would return, in shape
/// and counts; bad bodies get 422 in FastAPI's shape naming the field.</summary>
public class ApiTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private static object Unit(string module, string image, string model = "None") => new { enabled = true, module, model, image, weight = 1.0 };

    private static object Scripts(params object[] units) => new { ControlNet = new { args = units } };

    private static Image<Rgb24> Decode(JsonElement b64) => Image.Load<Rgb24>(Convert.FromBase64String(b64.GetString()!));

    [Theory]
    [InlineData(0, 1, 1, 1)]
    [InlineData(1, 1, 1, 2)]  // one image, then the unit's detected map
    [InlineData(2, 1, 1, 3)]
    [InlineData(0, 2, 2, 4)]  // batch_size 2 x n_iter 2
    public async Task Txt2img_returns_images_then_detected_maps_with_a1111_info(int units, int batch, int iterations, int expectedImages)
    {
        var scene = ServerFixture.Example("star-scene.png");
        var unitList = new[] { Unit("canny", scene, "controlnet-tiny-canny"), Unit("scribble_xdog", "data:image/png;base64," + scene) }.Take(units).ToArray();
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new
        {
            prompt = "a red star", steps = 4, seed = 11, batch_size = batch, n_iter = iterations, cfg_scale = 4, sampler_name = "Euler a",
            alwayson_scripts = Scripts(unitList),
        });
        Assert.Equal(200, status);
        var images = body.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(expectedImages, images.Count);
        Assert.DoesNotContain("data:", images[0].GetString());
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        var seeds = info.GetProperty("all_seeds").EnumerateArray().Select(s => s.GetInt64()).ToList();
        Assert.Equal(Enumerable.Range(11, batch * iterations).Select(i => (long)i), seeds);
        Assert.Equal(batch * iterations, info.GetProperty("infotexts").GetArrayLength());
        Assert.Equal("a red star", info.GetProperty("prompt").GetString());
        foreach (var key in new[] { "all_prompts", "negative_prompt", "seed", "width", "height", "sampler_name", "cfg_scale", "steps", "sd_model_name", "extra_generation_params", "index_of_first_image", "job_timestamp" })
            Assert.True(info.TryGetProperty(key, out _), key);
        using var png = Decode(images[0]);
        Assert.Equal(128, png.Width);
        Assert.Contains("Seed: 11", png.Metadata.GetPngMetadata().TextData.Single(t => t.Keyword == "parameters").Value);
        Assert.Equal("a red star", body.GetProperty("parameters").GetProperty("prompt").GetString());
        if (units > 0) Assert.Contains("ControlNet 0", info.GetProperty("infotexts")[0].GetString());
    }

    [Fact]
    public async Task Img2img_inpaints_with_a_mask_and_only_masked_and_keeps_the_pixels_outside()
    {
        var scene = ServerFixture.Example("star-scene.png");
        var mask = ServerFixture.Example("box-mask.png");
        var (status, body) = await f.Post("/sdapi/v1/img2img", new
        {
            prompt = "a yellow square", steps = 4, seed = 3, init_images = new[] { "data:image/png;base64," + scene }, mask, mask_blur = 0,
            inpaint_full_res = 1, inpaint_full_res_padding = 16, inpainting_fill = 1, denoising_strength = 1.0,
        });
        Assert.Equal(200, status);
        Assert.Equal(JsonValueKind.Null, body.GetProperty("parameters").GetProperty("init_images").ValueKind);
        using var result = Decode(body.GetProperty("images")[0]);
        using var before = Image.Load<Rgb24>(Convert.FromBase64String(scene));
        using var maskImage = Image.Load<Rgb24>(Convert.FromBase64String(mask));
        var changedOutside = 0;
        for (var y = 0; y < 128; y++)
            for (var x = 0; x < 128; x++)
                if (maskImage[x, y].R == 0 && !result[x, y].Equals(before[x, y])) changedOutside++;
        Assert.Equal(0, changedOutside);
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        Assert.Contains("Inpaint area: Only masked", info.GetProperty("infotexts")[0].GetString());
    }

    [Fact]
    public async Task Bad_bodies_get_422_in_fastapi_shape_naming_every_field()
    {
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new
        {
            steps = "many", width = 13, alwayson_scripts = Scripts(Unit("cany", ServerFixture.Example("star-scene.png"))),
        });
        Assert.Equal(422, status);
        var details = body.GetProperty("detail").EnumerateArray().ToList();
        Assert.Contains(details, d => d.GetProperty("loc").EnumerateArray().Last().GetString() == "steps" && d.GetProperty("type").GetString() == "type_error.integer");
        Assert.Contains(details, d => d.GetProperty("loc").EnumerateArray().Last().GetString() == "width");
        var module = details.Single(d => d.GetProperty("loc").EnumerateArray().Last().GetString() == "module");
        Assert.Equal(["body", "alwayson_scripts", "ControlNet", "args", "0", "module"], module.GetProperty("loc").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("canny", module.GetProperty("msg").GetString()); // names what exists

        using var broken = await f.Client.PostAsync("/sdapi/v1/txt2img", new StringContent("{bad", Encoding.UTF8, "application/json"));
        Assert.Equal(422, (int)broken.StatusCode);
        var badImage = await f.Post("/sdapi/v1/img2img", new { prompt = "x", init_images = new[] { "bm90IGFuIGltYWdl" } });
        Assert.Equal(422, badImage.Status);
        Assert.Contains("init", badImage.Body.GetProperty("detail")[0].GetProperty("msg").GetString()!, StringComparison.OrdinalIgnoreCase);
        var unknownModel = await f.Post("/sdapi/v1/txt2img", new { prompt = "x", override_settings = new { sd_model_checkpoint = "no-such-model" } });
        Assert.Equal(422, unknownModel.Status);
        Assert.Contains("tiny-sd", unknownModel.Body.GetProperty("detail")[0].GetProperty("msg").GetString());
    }

    [Fact]
    public async Task Unknown_fields_are_ignored_and_named_in_a_warning()
    {
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new { prompt = "a red star", steps = 2, seed = 1, frobnicate = true });
        Assert.Equal(200, status);
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        Assert.Contains(info.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("'frobnicate'"));
    }

    [Fact]
    public async Task The_lists_have_the_extensions_shapes()
    {
        var models = (await f.Get("/controlnet/model_list")).Body.GetProperty("model_list").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Contains(models, m => System.Text.RegularExpressions.Regex.IsMatch(m, @"^controlnet-tiny-canny \[[0-9a-f]{8}\]$"));
        Assert.Equal(models.OrderBy(m => m, StringComparer.Ordinal), models);
        var modules = (await f.Get("/controlnet/module_list")).Body;
        Assert.Equal("none", modules.GetProperty("module_list")[0].GetString());
        var canny = modules.GetProperty("module_detail").GetProperty("canny").GetProperty("sliders").EnumerateArray().ToList();
        Assert.Equal("Resolution", canny[0].GetProperty("name").GetString());
        Assert.Equal(100, canny[1].GetProperty("value").GetDouble());
        Assert.Equal(200, canny[2].GetProperty("value").GetDouble());
        var types = (await f.Get("/controlnet/control_types")).Body.GetProperty("control_types");
        Assert.Equal("None", types.GetProperty("All").GetProperty("model_list")[0].GetString());
        Assert.StartsWith("controlnet-tiny-canny [", types.GetProperty("Canny").GetProperty("default_model").GetString());
        Assert.Equal(3, (await f.Get("/controlnet/version")).Body.GetProperty("version").GetInt32());
        Assert.Equal(3, (await f.Get("/controlnet/settings")).Body.GetProperty("control_net_unit_count").GetInt32());
        var samplers = (await f.Get("/sdapi/v1/samplers")).Body.EnumerateArray().Select(s => s.GetProperty("name").GetString()).ToList();
        Assert.Contains("DPM++ 2M Karras", samplers);
        var checkpoint = (await f.Get("/sdapi/v1/sd-models")).Body.EnumerateArray().First(m => m.GetProperty("model_name").GetString() == "tiny-sd");
        Assert.Matches(@"^tiny-sd \[[0-9a-f]{10}\]$", checkpoint.GetProperty("title").GetString());
        Assert.Equal(64, checkpoint.GetProperty("sha256").GetString()!.Length);
        Assert.DoesNotContain("/", checkpoint.GetProperty("filename").GetString()); // no path leaves the server
        Assert.StartsWith("tiny-sd [", (await f.Get("/sdapi/v1/options")).Body.GetProperty("sd_model_checkpoint").GetString());
    }

    [Fact]
    public async Task Detect_runs_every_listed_module_or_says_what_it_needs()
    {
        var scene = ServerFixture.Example("star-scene.png");
        var list = (await f.Get("/controlnet/module_list")).Body;
        var modules = list.GetProperty("module_list").EnumerateArray().Select(e => e.GetString()!).ToList();
        // These need something the request does not carry: a user model file, a palette option, polygon points, a mask.
        var needInput = new HashSet<string> { "pose", "colour_palette", "mask_polygon", "mask_alpha", "inpaint" };
        foreach (var module in modules)
        {
            var (status, body) = await f.Post("/controlnet/detect", new { controlnet_module = module, controlnet_input_images = new[] { scene }, controlnet_processor_res = 64 });
            // An extension name ControlHost runs with one of its modules behaves as that module.
            var runs = list.GetProperty("module_detail").GetProperty(module).TryGetProperty("runs", out var r) ? r.GetString()! : module;
            if (needInput.Contains(runs))
            {
                Assert.True(status == 422, $"{module}: {status}");
                continue;
            }
            // The extension's modules that need a neural estimator ControlHost does not ship say where its ONNX export goes.
            if (list.GetProperty("module_detail").GetProperty(module).TryGetProperty("needs", out _))
            {
                Assert.True(status == 422 && body.ToString().Contains("annotators/"), $"{module}: {status} {body}");
                continue;
            }
            Assert.True(status == 200, $"{module}: {status} {body}");
            Assert.Equal("Success", body.GetProperty("info").GetString());
            using var image = Decode(body.GetProperty("images")[0]);
            Assert.True(image.Width > 0, module);
        }
        var none = await f.Post("/controlnet/detect", new { controlnet_module = "canny", controlnet_input_images = Array.Empty<string>() });
        Assert.Equal(422, none.Status);
        Assert.Contains("No image selected", none.Body.GetProperty("detail")[0].GetProperty("msg").GetString());
        var unknown = await f.Post("/controlnet/detect", new { controlnet_module = "no_such", controlnet_input_images = new[] { scene } });
        Assert.Equal(422, unknown.Status);
        var pose = await f.Post("/controlnet/render_openpose_json", new[] { JsonDocument.Parse(File.ReadAllText(Path.Combine(ServerFixture.Root, "examples", "pose.json"))).RootElement });
        Assert.Equal(200, pose.Status);
        Assert.Equal(1, pose.Body.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public async Task Png_info_reads_the_parameters_back()
    {
        var (_, generated) = await f.Post("/sdapi/v1/txt2img", new { prompt = "a blue circle", steps = 2, seed = 5 });
        var (status, body) = await f.Post("/sdapi/v1/png-info", new { image = generated.GetProperty("images")[0].GetString() });
        Assert.Equal(200, status);
        Assert.StartsWith("a blue circle\n", body.GetProperty("info").GetString());
        Assert.Equal("5", body.GetProperty("parameters").GetProperty("Seed").GetString());
    }

    [Fact]
    public async Task The_server_describes_its_routes_in_openapi_with_a_reference_page()
    {
        var (status, doc) = await f.Get("/openapi/v1.json");
        Assert.Equal(200, status);
        var paths = doc.GetProperty("paths");
        foreach (var route in new[] { "/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/controlnet/detect", "/controlhost/v1/place" })
            Assert.True(paths.TryGetProperty(route, out _), route);
        using var page = await f.Client.GetAsync("/scalar/v1");
        Assert.Equal(200, (int)page.StatusCode);
    }

    [Fact]
    public async Task The_web_page_and_its_script_are_served()
    {
        var page = await f.Client.GetStringAsync("/");
        Assert.Contains("<canvas id=\"canvas\"", page);
        Assert.Contains("/controlnet/detect", await f.Client.GetStringAsync("/app.js"));
        using var css = await f.Client.GetAsync("/app.css");
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);
    }
}
