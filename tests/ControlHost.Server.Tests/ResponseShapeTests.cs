using System.Text.Json;

namespace ControlHost.Server.Tests;

/// <summary>
/// Issue 25: each route's answer has the field names and JSON types A1111 (v1.9-1.10) and sd-webui-controlnet answer
/// with (../shared/a1111-api.md and their API models), so that clients that decode them field by field keep working.
/// A shape is "name:kind" for each field ("?" after the kind: may be null); lists are checked on their first item.
/// </summary>
public sealed class ResponseShapeTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private static readonly string Scene = ServerFixture.Example("star-scene.png");

    public static TheoryData<string, string, string?, string> Routes() => new()
    {
        { "GET", "/sdapi/v1/samplers", null, "[name:string aliases:array options:object]" },
        { "GET", "/sdapi/v1/schedulers", null, "[name:string label:string aliases:array? default_rho:number need_inner_model:bool]" },
        { "GET", "/sdapi/v1/upscalers", null, "[name:string model_name:string? model_path:string? model_url:string? scale:number]" },
        { "GET", "/sdapi/v1/latent-upscale-modes", null, "[name:string]" },
        { "GET", "/sdapi/v1/sd-models", null, "[title:string model_name:string hash:string? sha256:string? filename:string config:string?]" },
        { "GET", "/sdapi/v1/options", null, "sd_model_checkpoint:string" },
        { "GET", "/sdapi/v1/embeddings", null, "loaded:object skipped:object" },
        { "GET", "/sdapi/v1/scripts", null, "txt2img:array img2img:array" },
        { "GET", "/sdapi/v1/memory", null, "ram:object cuda:object" },
        { "GET", "/sdapi/v1/cmd-flags", null, "api:bool listen:bool port:number" },
        { "GET", "/sdapi/v1/progress", null, "progress:number eta_relative:number state:object current_image:string? textinfo:string?" },
        { "POST", "/sdapi/v1/txt2img", """{"prompt": "x", "steps": 2, "width": 64, "height": 64}""", "images:array parameters:object info:string" },
        { "POST", "/sdapi/v1/img2img", $$"""{"prompt": "x", "steps": 2, "init_images": ["{{Scene}}"]}""", "images:array parameters:object info:string" },
        { "POST", "/sdapi/v1/png-info", $$"""{"image": "{{Scene}}"}""", "info:string items:object parameters:object" },
        { "POST", "/sdapi/v1/extra-single-image", $$"""{"image": "{{Scene}}", "upscaler_1": "Lanczos"}""", "html_info:string image:string" },
        { "POST", "/sdapi/v1/extra-batch-images", $$"""{"imageList": [{"data": "{{Scene}}", "name": "a.png"}]}""", "html_info:string images:array" },
        { "POST", "/sdapi/v1/interrupt", null, "" },
        { "GET", "/controlnet/version", null, "version:number" },
        { "GET", "/controlnet/settings", null, "control_net_unit_count:number" },
        { "GET", "/controlnet/model_list", null, "model_list:array" },
        { "GET", "/controlnet/module_list", null, "module_list:array module_detail:object" },
        { "GET", "/controlnet/control_types", null, "control_types:object" },
        { "POST", "/controlnet/detect", $$"""{"controlnet_module": "canny", "controlnet_input_images": ["{{Scene}}"]}""", "info:string images:array" },
        { "POST", "/controlnet/render_openpose_json", $"[{File.ReadAllText(Path.Combine(ServerFixture.Root, "examples", "pose.json"))}]", "images:array info:string" },
    };

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => "string", JsonValueKind.Number => "number", JsonValueKind.True or JsonValueKind.False => "bool",
        JsonValueKind.Array => "array", JsonValueKind.Object => "object", _ => "null",
    };

    private static void Check(JsonElement value, string shape, string route)
    {
        foreach (var field in shape.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, kind) = (field.Split(':')[0], field.Split(':')[1]);
            var nullable = kind.EndsWith('?');
            Assert.True(value.TryGetProperty(name, out var v), $"{route}: no field '{name}' in {value.ToString()[..Math.Min(200, value.ToString().Length)]}");
            var actual = Kind(v);
            Assert.True(actual == kind.TrimEnd('?') || (nullable && actual == "null"), $"{route}: '{name}' is {actual}, A1111 answers {kind}");
        }
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Each_route_answers_A1111s_field_names_and_types(string method, string route, string? body, string shape)
    {
        using var response = method == "GET" ? await f.Client.GetAsync(route)
            : await f.Client.PostAsync(route, body is null ? null : new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{route}: {(int)response.StatusCode} {text[..Math.Min(300, text.Length)]}");
        var root = JsonDocument.Parse(text).RootElement;
        if (shape.StartsWith('['))
        {
            Assert.Equal(JsonValueKind.Array, root.ValueKind);
            Assert.True(root.GetArrayLength() > 0, $"{route}: an empty list; the shape needs an item");
            Check(root[0], shape.Trim('[', ']'), route);
        }
        else
        {
            Assert.Equal(JsonValueKind.Object, root.ValueKind);
            Check(root, shape, route);
        }
    }

    [Fact]
    public async Task Module_detail_sliders_are_in_the_extensions_shape()
    {
        var detail = JsonDocument.Parse(await f.Client.GetStringAsync("/controlnet/module_list")).RootElement.GetProperty("module_detail").GetProperty("canny");
        Check(detail, "model_free:bool sliders:array", "module_detail.canny");
        var sliders = detail.GetProperty("sliders").EnumerateArray().ToList();
        foreach (var slider in sliders) Check(slider, "name:string value:number min:number max:number step:number", "module_detail.canny.sliders");
        Assert.Equal(["Resolution", "low_threshold", "high_threshold"], sliders.Select(x => x.GetProperty("name").GetString()));
        Assert.Equal([512.0, 100, 200], sliders.Select(x => x.GetProperty("value").GetDouble()));
    }
}
