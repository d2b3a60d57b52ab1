using System.Text;
using System.Text.Json.Nodes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Xunit.Abstractions;

namespace ControlHost.Server.Tests;

/// <summary>
/// Issue 23's fuzz: thousands of bodies made from valid requests of every working route by seeded mutation (a field
/// dropped, a value swapped for one of another kind, the classes of findings 1-4: lone surrogates, invalid UTF-8,
/// null scripts, strip images, huge canvases, malformed pose JSON, deep nesting, truncation), sent one after another.
/// No answer may be a 5xx, and the server must still generate afterwards. Bounded: about a minute on two cores.
/// </summary>
public sealed class MutationFuzzTests(ServerFixture f, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    public const int Bodies = 2400;

    private static string Png(int width, int height)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(40, 80, 120));
        using var ms = new MemoryStream();
        image.SaveAsPng(ms);
        return Convert.ToBase64String(ms.ToArray());
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>Valid requests, cheap to run (64x64, one step), one or more per route.</summary>
    private static (string Route, JsonNode Body)[] Seeds()
    {
        var scene = ServerFixture.Example("star-scene.png");
        var pose = """{"people":[{"pose_keypoints_2d":[30,20,1,30,40,1,20,40,1,15,60,1,10,80,1,40,40,1,45,60,1,50,80,1]}],"canvas_width":64,"canvas_height":64}""";
        JsonNode Unit(string module, string model, string image) => new JsonObject { ["enabled"] = true, ["module"] = module, ["model"] = model, ["image"] = image, ["weight"] = 0.8, ["processor_res"] = 64 };
        JsonNode Scripts(params JsonNode[] units) => new JsonObject { ["ControlNet"] = new JsonObject { ["args"] = new JsonArray(units) } };
        return
        [
            ("/sdapi/v1/txt2img", new JsonObject
            {
                ["prompt"] = "a red star", ["steps"] = 1, ["width"] = 64, ["height"] = 64, ["seed"] = 1, ["sampler_name"] = "Euler a",
                ["alwayson_scripts"] = Scripts(Unit("canny", "controlnet-tiny-canny", scene)),
            }),
            ("/sdapi/v1/img2img", new JsonObject
            {
                ["prompt"] = "a red star", ["steps"] = 1, ["width"] = 64, ["height"] = 64, ["init_images"] = new JsonArray(scene), ["mask"] = scene,
                ["denoising_strength"] = 0.5, ["inpainting_fill"] = 1, ["inpaint_full_res"] = 0,
                ["alwayson_scripts"] = Scripts(Unit("none", "controlnet-tiny-pose", B64(pose))),
            }),
            ("/controlhost/v1/place", new JsonObject
            {
                ["background"] = scene, ["prompt"] = "a shape", ["steps"] = 1, ["seed"] = 2,
                ["boxes"] = new JsonArray(new JsonObject
                {
                    ["box"] = new JsonArray(8, 8, 48, 48), ["prompt"] = "a star",
                    ["units"] = new JsonArray(Unit("none", "controlnet-tiny-pose", B64(pose))),
                }),
            }),
            ("/controlnet/detect", new JsonObject { ["controlnet_module"] = "canny", ["controlnet_input_images"] = new JsonArray(scene), ["controlnet_processor_res"] = 64 }),
            ("/controlhost/v1/suggest-boxes", new JsonObject { ["background"] = scene, ["width"] = 32, ["height"] = 32, ["count"] = 3 }),
            ("/controlnet/render_openpose_json", JsonNode.Parse("[" + pose + "]")!),
            ("/sdapi/v1/options", new JsonObject { ["sd_model_checkpoint"] = "tiny-sd" }),
            ("/sdapi/v1/png-info", new JsonObject { ["image"] = scene }),
        ];
    }

    /// <summary>Values of other kinds, and the inputs the findings named.</summary>
    private static JsonNode?[] Junk() =>
    [
        null, true, 0, -1, 1e308, 4294967296L, 0.5, "", "x", "\ud800", new JsonArray(), new JsonObject(), JsonNode.Parse("[[[[[[]]]]]]"),
        new string('a', 20_000), Png(1, 6000), Png(6000, 1), B64("""{"people":[],"canvas_width":2147483647,"canvas_height":2}"""),
        B64("""{"people":[{"pose_keypoints_2d":"nonsense"}],"canvas_width":64"""), B64("{"), "data:image/png;base64,", "!!!notbase64!!!",
        new JsonObject { ["ControlNet"] = null }, new JsonObject { ["ControlNet"] = new JsonObject { ["args"] = new JsonArray(new JsonObject()) } },
        new JsonArray(1, 2, 3, 4), "0,0,4096,4096",
    ];

    private static List<JsonNode> Places(JsonNode node)
    {
        var all = new List<JsonNode> { node };
        if (node is JsonObject o) foreach (var (_, v) in o) { if (v is not null) all.AddRange(Places(v)); }
        if (node is JsonArray a) foreach (var v in a) { if (v is not null) all.AddRange(Places(v)); }
        return all;
    }

    /// <summary>One mutated body: mostly structural changes to a valid request, sometimes raw text damage.</summary>
    internal static IEnumerable<(string Route, byte[] Body)> Mutated(int count, int seed = 2026)
    {
        var rng = new Random(seed);
        var seeds = Seeds();
        var junk = Junk();
        for (var i = 0; i < count; i++)
        {
            var (route, original) = seeds[i % seeds.Length];
            var body = original.DeepClone();
            var edits = 1 + rng.Next(3);
            for (var e = 0; e < edits; e++)
            {
                var places = Places(body);
                var target = places[rng.Next(places.Count)];
                switch (rng.Next(4))
                {
                    case 0 when target is JsonObject { Count: > 0 } o: // drop a field
                        o.Remove(o.ElementAt(rng.Next(o.Count)).Key);
                        break;
                    case 1 when target is JsonObject { Count: > 0 } o: // another kind of value
                        o[o.ElementAt(rng.Next(o.Count)).Key] = junk[rng.Next(junk.Length)]?.DeepClone();
                        break;
                    case 2 when target is JsonArray { Count: > 0 } a:
                        a[rng.Next(a.Count)] = junk[rng.Next(junk.Length)]?.DeepClone();
                        break;
                    case 3 when target is JsonObject o: // a field no route knows, or a known one where it does not belong
                        o[rng.Next(2) == 0 ? "unknown_" + rng.Next(100) : "alwayson_scripts"] = junk[rng.Next(junk.Length)]?.DeepClone();
                        break;
                    default:
                        if (rng.Next(8) == 0) body = junk[rng.Next(junk.Length)]?.DeepClone() ?? JsonValue.Create(0)!; // another root
                        break;
                }
            }
            var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
            switch (rng.Next(20))
            {
                case 0: // truncated
                    bytes = bytes[..rng.Next(bytes.Length)];
                    break;
                case 1: // invalid UTF-8 inside
                    bytes = (byte[])bytes.Clone();
                    for (var k = 0; k < 3; k++) bytes[rng.Next(bytes.Length)] = (byte)(0x80 + rng.Next(0x40));
                    break;
                case 2: // nested past the reader's depth
                    var depth = 33 + rng.Next(200);
                    bytes = Encoding.UTF8.GetBytes(new string('[', depth) + new string(']', depth));
                    break;
            }
            yield return (route, bytes);
        }
    }

    [Fact]
    public async Task Thousands_of_mutated_valid_requests_get_no_5xx_and_the_server_still_generates()
    {
        var statuses = new SortedDictionary<int, int>();
        var faults = new List<string>();
        foreach (var (route, body) in Mutated(Bodies))
        {
            var content = new ByteArrayContent(body);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var response = await f.Client.PostAsync(route, content);
            var code = (int)response.StatusCode;
            statuses[code] = statuses.GetValueOrDefault(code) + 1;
            if (code >= 500 && faults.Count < 5)
                faults.Add($"{route} {code}: {Encoding.UTF8.GetString(body[..Math.Min(body.Length, 300)])} -> {await response.Content.ReadAsStringAsync()}");
        }
        output.WriteLine("statuses: " + string.Join(", ", statuses.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.True(faults.Count == 0, string.Join("\n", faults));
        Assert.True(statuses.GetValueOrDefault(200) > Bodies / 20, "too few mutated bodies were still valid: the fuzz no longer reaches the work");
        var (status, _) = await f.Post("/sdapi/v1/txt2img", new { prompt = "a red star", steps = 2, seed = 1 });
        Assert.Equal(200, status);
    }
}
