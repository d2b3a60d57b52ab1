using System.Text;
using ControlHost.Application.Generation;
using ControlHost.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ControlHost.Server.Tests;

/// <summary>
/// The server's own entry point (Program) hosted in memory by WebApplicationFactory, over the repository's models:
/// the generation service and the queue are the test's, everything else is what `controlhost serve` builds.
/// </summary>
public sealed class InMemoryServer : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.ConfigureServices(services =>
    {
        // Registered after the program's own, so these are the ones resolved.
        services.AddSingleton(_ => new GenerationService(ServerFixture.Settings().Service));
        services.AddSingleton<ControlHost.Cluster.IJobQueue>(sp => new ControlHost.Cluster.InProcessJobQueue(sp.GetRequiredService<GenerationService>()));
    });
}

/// <summary>
/// Every route the server maps, with a valid body and an invalid one. The table is checked against the endpoints the
/// server really maps, so a route added without a case here (or a case whose route went away) fails.
/// </summary>
public sealed class EveryRouteTests(InMemoryServer server) : IClassFixture<InMemoryServer>
{
    private static readonly string Scene = ServerFixture.Example("star-scene.png");
    private static readonly string Pose = File.ReadAllText(Path.Combine(ServerFixture.Root, "examples", "pose.json"));

    /// <summary>method, route pattern, the request sent, the valid body (null: none), the invalid body, the status the
    /// invalid body gets. Routes that take no body are sent junk, which they ignore as A1111 does.</summary>
    public static TheoryData<string, string, string, string?, string, int> Routes()
    {
        var txt = """{"prompt": "a red star", "steps": 2, "seed": 1}""";
        var img = $$"""{"prompt": "a red star", "steps": 2, "seed": 1, "denoising_strength": 0.5, "init_images": ["{{Scene}}"]}""";
        var detect = $$"""{"controlnet_module": "canny", "controlnet_input_images": ["{{Scene}}"], "controlnet_threshold_a": 50}""";
        var suggest = $$"""{"background": "{{Scene}}", "width": 40, "height": 40, "count": 2}""";
        var place = $$"""{"background": "{{Scene}}", "steps": 2, "seed": 1, "boxes": [{"box": [60, 10, 50, 50], "prompt": "a green square"}]}""";
        return new()
        {
            { "POST", "/sdapi/v1/txt2img", "/sdapi/v1/txt2img", txt, """{"steps": "many", "width": 13}""", 422 },
            { "POST", "/sdapi/v1/img2img", "/sdapi/v1/img2img", img, """{"prompt": "x", "init_images": ["bm90IGFuIGltYWdl"]}""", 422 },
            { "GET", "/sdapi/v1/samplers", "/sdapi/v1/samplers", null, "", 0 },
            { "GET", "/sdapi/v1/sd-models", "/sdapi/v1/sd-models", null, "", 0 },
            { "GET", "/sdapi/v1/options", "/sdapi/v1/options", null, "", 0 },
            { "GET", "/sdapi/v1/loras", "/sdapi/v1/loras", null, "", 0 },
            { "GET", "/sdapi/v1/embeddings", "/sdapi/v1/embeddings", null, "", 0 },
            { "POST", "/sdapi/v1/options", "/sdapi/v1/options", """{"sd_model_checkpoint": "tiny-sd"}""", """{"sd_model_checkpoint": "no-such-model"}""", 422 },
            { "GET", "/sdapi/v1/progress", "/sdapi/v1/progress", null, "", 0 },
            { "POST", "/sdapi/v1/interrupt", "/sdapi/v1/interrupt", null, "{junk", 200 },
            { "POST", "/sdapi/v1/skip", "/sdapi/v1/skip", null, "{junk", 200 },
            { "POST", "/sdapi/v1/png-info", "/sdapi/v1/png-info", $$"""{"image": "{{Scene}}"}""", """{"image": "bm90IGFuIGltYWdl"}""", 422 },
            { "GET", "/sdapi/v1/upscalers", "/sdapi/v1/upscalers", null, "", 0 },
            { "GET", "/sdapi/v1/latent-upscale-modes", "/sdapi/v1/latent-upscale-modes", null, "", 0 },
            { "GET", "/sdapi/v1/schedulers", "/sdapi/v1/schedulers", null, "", 0 },
            { "GET", "/sdapi/v1/sd-vae", "/sdapi/v1/sd-vae", null, "", 0 },
            { "GET", "/sdapi/v1/hypernetworks", "/sdapi/v1/hypernetworks", null, "", 0 },
            { "GET", "/sdapi/v1/face-restorers", "/sdapi/v1/face-restorers", null, "", 0 },
            { "GET", "/sdapi/v1/realesrgan-models", "/sdapi/v1/realesrgan-models", null, "", 0 },
            { "GET", "/sdapi/v1/prompt-styles", "/sdapi/v1/prompt-styles", null, "", 0 },
            { "GET", "/sdapi/v1/scripts", "/sdapi/v1/scripts", null, "", 0 },
            { "GET", "/sdapi/v1/cmd-flags", "/sdapi/v1/cmd-flags", null, "", 0 },
            { "GET", "/sdapi/v1/memory", "/sdapi/v1/memory", null, "", 0 },
            { "POST", "/sdapi/v1/refresh-checkpoints", "/sdapi/v1/refresh-checkpoints", null, "{junk", 200 },
            { "POST", "/sdapi/v1/refresh-loras", "/sdapi/v1/refresh-loras", null, "{junk", 200 },
            { "POST", "/sdapi/v1/refresh-vae", "/sdapi/v1/refresh-vae", null, "{junk", 200 },
            { "POST", "/sdapi/v1/extra-single-image", "/sdapi/v1/extra-single-image", $$"""{"image": "{{Scene}}", "upscaler_1": "Lanczos"}""", """{"image": "x", "upscaler_1": "SwinIR"}""", 422 },
            { "POST", "/sdapi/v1/extra-batch-images", "/sdapi/v1/extra-batch-images", $$"""{"imageList": [{"data": "{{Scene}}", "name": "a.png"}], "upscaler_1": "Nearest"}""", """{"imageList": [{"name": "a.png"}]}""", 422 },
            { "GET", "/controlnet/version", "/controlnet/version", null, "", 0 },
            { "GET", "/controlnet/settings", "/controlnet/settings", null, "", 0 },
            { "GET", "/controlnet/model_list", "/controlnet/model_list", null, "", 0 },
            { "GET", "/controlnet/module_list", "/controlnet/module_list?alias_names=true", null, "", 0 },
            { "GET", "/controlnet/control_types", "/controlnet/control_types", null, "", 0 },
            { "POST", "/controlnet/detect", "/controlnet/detect", detect, """{"controlnet_module": "cany", "controlnet_input_images": ["x"]}""", 422 },
            { "POST", "/controlnet/render_openpose_json", "/controlnet/render_openpose_json", $"[{Pose}]", """{"people": 3}""", 422 },
            { "GET", "/controlhost/v1/models", "/controlhost/v1/models", null, "", 0 },
            { "GET", "/controlhost/v1/plugins", "/controlhost/v1/plugins", null, "", 0 },
            { "GET", "/controlhost/v1/progress/stream", "/controlhost/v1/progress/stream?seconds=1", null, "", 0 },
            { "POST", "/controlhost/v1/suggest-boxes", "/controlhost/v1/suggest-boxes", suggest, $$"""{"background": "{{Scene}}", "width": 0}""", 422 },
            { "POST", "/controlhost/v1/place", "/controlhost/v1/place", place, $$"""{"background": "{{Scene}}", "boxes": [{"box": "1,2"}]}""", 422 },
            { "POST", "/controlhost/v1/jobs", "/controlhost/v1/jobs", """{"version": 1, "generate": {"prompt": "a red star", "steps": 2, "seed": 1}}""", """{"generate": {"steps": 0}}""", 422 },
            { "GET", "/", "/", null, "", 0 },
            { "GET", "/app.js", "/app.js", null, "", 0 },
            { "GET", "/app.css", "/app.css", null, "", 0 },
            { "GET", "/openapi/{documentName}.json", "/openapi/v1.json", null, "", 0 },
            { "GET", "/scalar/{documentName?}", "/scalar/v1", null, "", 0 },
            // The reference page's own assets, which Scalar.AspNetCore maps beside it.
            { "GET", "/scalar/scalar.js", "/scalar/scalar.js", null, "", 0 },
            { "GET", "/scalar/scalar.aspnetcore.js", "/scalar/scalar.aspnetcore.js", null, "", 0 },
            { "GET", "/scalar/favicon.svg", "/scalar/favicon.svg", null, "", 0 },
        };
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task Each_route_answers_a_valid_request_and_refuses_an_invalid_body_naming_the_field(
        string method, string pattern, string url, string? valid, string invalid, int invalidStatus)
    {
        using var client = server.CreateClient();
        using var ok = await Send(client, method, url, valid);
        var text = await ok.Content.ReadAsStringAsync();
        Assert.True(ok.IsSuccessStatusCode, $"{method} {pattern}: {(int)ok.StatusCode} {text[..Math.Min(300, text.Length)]}");
        if (method == "GET")
        {
            Assert.NotEmpty(text);
            return;
        }
        using var bad = await Send(client, method, url, invalid);
        Assert.Equal(invalidStatus, (int)bad.StatusCode);
        if (invalidStatus == 422)
            Assert.Contains("\"loc\":[\"body\"", await bad.Content.ReadAsStringAsync()); // FastAPI's shape, naming where
    }

    /// <summary>Routes A1111 has for features ControlHost has no model for: they answer a JSON error naming what is
    /// missing (A1111RoutesTests checks each), never 404.</summary>
    private static readonly string[] Unavailable = ["POST /sdapi/v1/interrogate"];

    /// <summary>Routes of one job or that take raw bytes: JobsApiTests checks each with a job it made.</summary>
    private static readonly string[] JobRoutes =
    [
        "GET /controlhost/v1/jobs/{id}", "GET /controlhost/v1/jobs/{id}/result", "GET /controlhost/v1/jobs/{id}/events",
        "POST /controlhost/v1/jobs/{id}/cancel", "POST /controlhost/v1/blobs",
    ];

    [Fact]
    public void The_table_has_one_case_for_every_route_the_server_maps()
    {
        var mapped = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["ANY"]).Select(m => $"{m} {Normalise(e.RoutePattern.RawText)}"))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        var covered = Routes().Select(r => $"{r[0]} {Normalise((string)r[1])}").Concat(Unavailable).Concat(JobRoutes.Select(r => r.Split(' ') is var p ? $"{p[0]} {Normalise(p[1])}" : r))
            .Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(mapped.SequenceEqual(covered),
            $"mapped without a case: {string.Join(", ", mapped.Except(covered))}; a case without a route: {string.Join(", ", covered.Except(mapped))}");
    }

    [Fact]
    public async Task Txt2img_through_the_programs_own_host_keeps_the_seed_and_warns_of_unknown_fields()
    {
        using var client = server.CreateClient();
        using var response = await Send(client, "POST", "/sdapi/v1/txt2img", """{"prompt": "a red star", "steps": 2, "seed": 7, "frobnicate": 1}""");
        var info = System.Text.Json.JsonDocument.Parse(System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("info").GetString()!).RootElement;
        Assert.Equal(7, info.GetProperty("seed").GetInt64());
        Assert.Contains("frobnicate", info.GetProperty("warnings")[0].GetString());
    }

    private static string Normalise(string? pattern) => "/" + (pattern ?? "").Trim('/');

    private static Task<HttpResponseMessage> Send(HttpClient client, string method, string url, string? body)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), url);
        if (method == "POST") request.Content = new StringContent(body ?? "", Encoding.UTF8, "application/json");
        return client.SendAsync(request);
    }
}
