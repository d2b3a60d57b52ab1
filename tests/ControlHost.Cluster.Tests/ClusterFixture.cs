using System.Text;
using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Jobs;
using ControlHost.Application.Sources;
using ControlHost.Server;
using Microsoft.AspNetCore.Builder;

namespace ControlHost.Cluster.Tests;

/// <summary>API nodes, job documents and the single-process reference the cluster's bytes are compared with.</summary>
public static class ClusterFixture
{
    public static string Root { get; } = FindRoot();

    /// <summary>Short, so that a lost worker's job is redelivered within seconds.</summary>
    public static TimeSpan AckWait { get; } = TimeSpan.FromSeconds(3);
    public static TimeSpan Heartbeat { get; } = TimeSpan.FromSeconds(0.5);

    public static ClusterOptions Options(int maxAttempts = 3) => new() { AckWait = AckWait, Heartbeat = Heartbeat, MaxAttempts = maxAttempts, Capacity = 64 };

    private static ServiceOptions Service => new()
    {
        ModelRoots = [Path.Combine(Root, "models")], Paths = PathPolicy.NamesOnly, Device = Engine.Onnx.DeviceChoice.Cpu, Threads = 2,
    };

    /// <summary>An API node: the HTTP server on a free loopback port, running no model.</summary>
    public static async Task<(WebApplication App, HttpClient Client)> ApiNode(Broker broker, int queue = 64, ServerRole role = ServerRole.Api, int perClient = 16)
    {
        var settings = new ServerSettings
        {
            Port = 0, Queue = queue, Nats = broker.Url, Role = role, Cluster = Options(), Service = Service,
            Limits = new ServerLimits { MaxJobsPerClient = perClient },
        };
        var app = ServerHost.Build(settings);
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(5) });
    }

    private static readonly Lazy<GenerationService> Reference = new(() => new GenerationService(Service));

    /// <summary>The job run in this process, as one process without a broker runs it: the bytes a cluster must give.</summary>
    public static JobResult RunHere(string document)
    {
        var parsed = JobDocument.Parse(document);
        var images = JobImages.FetchAsync(parsed, null).GetAwaiter().GetResult();
        return new JobRunner(Reference.Value).Run(parsed, images);
    }

    public static string Generate(int steps, long seed, int size = 64, string prompt = "a red star on a blue background") =>
        $$$"""{"version": 1, "generate": {"prompt": "{{{prompt}}}", "steps": {{{steps}}}, "seed": {{{seed}}}, "width": {{{size}}}, "height": {{{size}}}, "preview_every": 4} }""";

    public static string Scene => Convert.ToBase64String(File.ReadAllBytes(Path.Combine(Root, "examples", "star-scene.png")));

    public static async Task<string> Submit(HttpClient client, string document, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/controlhost/v1/jobs") { Content = new StringContent(document, Encoding.UTF8, "application/json") };
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    public static async Task<JsonElement> Status(HttpClient client, string id) =>
        JsonDocument.Parse(await client.GetStringAsync($"/controlhost/v1/jobs/{id}")).RootElement.Clone();

    /// <summary>Waits until the job's status satisfies <paramref name="done"/>.</summary>
    public static async Task<JsonElement> Until(HttpClient client, string id, Func<JsonElement, bool> done, TimeSpan? within = null)
    {
        var until = DateTime.UtcNow + (within ?? TimeSpan.FromMinutes(3));
        while (true)
        {
            var status = await Status(client, id);
            if (done(status)) return status;
            if (DateTime.UtcNow > until) throw new TimeoutException($"job {id}: {status}");
            await Task.Delay(100);
        }
    }

    public static bool Is(JsonElement status, string state) => status.GetProperty("state").GetString() == state;

    /// <summary>The result's image PNGs (base64), waiting for it.</summary>
    public static async Task<(int Status, JsonElement Body)> Result(HttpClient client, string id)
    {
        using var response = await client.GetAsync($"/controlhost/v1/jobs/{id}/result?wait=true");
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    public static List<string> Pngs(JsonElement result) =>
        result.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("png").GetString()!)
            .Concat(result.GetProperty("detected_maps").EnumerateArray().Select(m => m.GetString()!)).ToList();

    public static List<string> Pngs(JobResult result) =>
        result.Images.Select(i => Convert.ToBase64String(i.Png.Data!)).Concat(result.DetectedMaps.Select(m => Convert.ToBase64String(m.Data!))).ToList();

    /// <summary>The job's events as the API node streams them (server-sent), to the end.</summary>
    public static async Task<List<JsonElement>> Events(HttpClient client, string id)
    {
        var text = await client.GetStringAsync($"/controlhost/v1/jobs/{id}/events");
        return text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal)).Select(l => JsonDocument.Parse(l[6..]).RootElement.Clone()).ToList();
    }

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "ControlHost.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repository root not found");
    }
}
