using System.Text;
using SixLabors.ImageSharp;
using System.Text.Json;

namespace ControlHost.Server.Tests;

/// <summary>ControlHost's own routes, and a fuzz of malformed bodies that must all get 4xx with the server staying up.</summary>
public class OwnRoutesAndFuzzTests(ServerFixture f, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Place_puts_objects_in_boxes_and_suggest_boxes_ranks_places()
    {
        var scene = ServerFixture.Example("star-scene.png");
        var (status, body) = await f.Post("/controlhost/v1/place", new
        {
            background = scene, steps = 3, seed = 4, harmonize = "poisson",
            boxes = new object[]
            {
                new { box = new[] { 78, 8, 44, 56 }, prompt = "a green square", units = new[] { new { module = "none", model = "controlnet-tiny-canny", image = ServerFixture.Example("object-sketch.png") } } },
                new { box = "4,80,40,44", prompt = "a blue circle" },
            },
        });
        Assert.True(status == 200, body.ToString());
        Assert.Equal([4L, 5L], body.GetProperty("boxes").EnumerateArray().Select(b => b.GetProperty("seed").GetInt64()));
        using var png = SixLabors.ImageSharp.Image.Load(Convert.FromBase64String(body.GetProperty("image").GetString()!));
        Assert.Contains(png.Metadata.GetPngMetadata().TextData, t => t.Keyword == "controlhost-placement");

        var overlap = await f.Post("/controlhost/v1/place", new { background = scene, prompt = "x", boxes = new[] { new { box = new[] { 0, 0, 50, 50 } }, new { box = new[] { 10, 10, 50, 50 } } } });
        Assert.Equal(422, overlap.Status);
        Assert.Contains("overlap", overlap.Body.GetProperty("detail")[0].GetProperty("msg").GetString());

        var (s2, suggested) = await f.Post("/controlhost/v1/suggest-boxes", new { background = scene, width = 30, height = 40, count = 3 });
        Assert.Equal(200, s2);
        var boxes = suggested.GetProperty("boxes").EnumerateArray().ToList();
        Assert.Equal(3, boxes.Count);
        Assert.All(boxes, b => Assert.True(b.TryGetProperty("free_space", out _) && b.TryGetProperty("support", out _) && b.TryGetProperty("scale", out _)));

        var plugins = (await f.Get("/controlhost/v1/plugins")).Body.GetProperty("modules").EnumerateArray().ToList();
        var canny = plugins.Single(m => m.GetProperty("name").GetString() == "canny");
        Assert.Contains(canny.GetProperty("options").EnumerateArray(), o => o.GetProperty("name").GetString() == "low_threshold" && o.GetProperty("default").GetString() == "100");
        Assert.Contains("controlnet-tiny-canny", (await f.Get("/controlhost/v1/models")).Body.GetProperty("controlnets").ToString());
    }

    /// <summary>Malformed bodies: bad JSON, wrong types, huge numbers, broken base64, huge or truncated images, junk.</summary>
    private static IEnumerable<(string Route, string Body)> Malformed(int count)
    {
        var rng = new Random(1234);
        var scene = ServerFixture.Example("star-scene.png");
        var truncated = scene[..(scene.Length / 3)];
        // A PNG header that claims 100000 x 100000 pixels: refused before anything is decoded.
        var huge = Convert.ToBase64String(HugePngHeader());
        string[] routes = ["/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/controlnet/detect", "/controlhost/v1/place", "/sdapi/v1/png-info",
            "/controlhost/v1/suggest-boxes", "/controlnet/render_openpose_json", "/sdapi/v1/options"];
        string[] junkValues = ["\"x\"", "-1e308", "1e400", "99999999999999999999", "[]", "{}", "null", "true", "\"" + truncated + "\"", "\"" + huge + "\"",
            "\"!!!notbase64!!!\"", "[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]", "-5", "0.5", "\"data:image/png;base64,\"", "\"data:image/png;base64,AAAA\""];
        string[] fields = ["steps", "width", "height", "seed", "cfg_scale", "batch_size", "n_iter", "init_images", "mask", "alwayson_scripts", "sampler_name",
            "controlnet_input_images", "controlnet_module", "background", "boxes", "image", "inpainting_fill", "mask_blur", "denoising_strength", "override_settings"];
        for (var i = 0; i < count; i++)
        {
            var route = routes[i % routes.Length];
            string body;
            switch (rng.Next(6))
            {
                case 0: // not JSON, or truncated JSON
                    body = rng.Next(2) == 0 ? Encoding.Latin1.GetString(Enumerable.Range(0, rng.Next(1, 200)).Select(_ => (byte)rng.Next(256)).ToArray())
                        : "{\"prompt\": \"a red star\", \"steps\": 2, \"ini"[..rng.Next(1, 38)];
                    break;
                case 1: // deep nesting past the reader's depth limit
                    var depth = rng.Next(40, 400);
                    body = new string('[', depth) + new string(']', depth);
                    break;
                default: // a plausible body with two fields of the wrong kind
                    var a = fields[rng.Next(fields.Length)];
                    var b = fields[rng.Next(fields.Length)];
                    body = $"{{\"prompt\": \"x\", \"steps\": 1, \"{a}\": {junkValues[rng.Next(junkValues.Length)]}, \"{b}\": {junkValues[rng.Next(junkValues.Length)]}," +
                           $" \"init_images\": [\"{(rng.Next(3) == 0 ? truncated : "AAAA")}\"], \"controlnet_input_images\": [\"{huge}\"], \"background\": \"{truncated}\"," +
                           $" \"boxes\": [{{\"box\": [1, 2, 0, 5]}}]}}";
                    break;
            }
            yield return (route, body);
        }
    }

    private static byte[] HugePngHeader()
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
        ms.Write([0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 2, 0, 0, 0, 0, 0, 0, 0]);
        return ms.ToArray();
    }

    [Fact]
    public async Task A_thousand_malformed_bodies_get_only_4xx_and_the_server_still_serves()
    {
        var statuses = new Dictionary<int, int>();
        var bad = new List<string>();
        foreach (var (route, body) in Malformed(1000))
        {
            using var response = await f.Client.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json"));
            var code = (int)response.StatusCode;
            statuses[code] = statuses.GetValueOrDefault(code) + 1;
            if (code >= 500 && bad.Count < 5) bad.Add($"{route} {code}: {body[..Math.Min(body.Length, 200)]} -> {await response.Content.ReadAsStringAsync()}");
        }
        output.WriteLine("statuses: " + string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.True(bad.Count == 0, string.Join("\n", bad));
        Assert.True(statuses.Keys.All(k => k is >= 400 and < 500 or 200), string.Join(", ", statuses.Select(kv => $"{kv.Key}: {kv.Value}")));
        var (status, _) = await f.Post("/sdapi/v1/txt2img", new { prompt = "a red star", steps = 2, seed = 1 });
        Assert.Equal(200, status);
    }
}
