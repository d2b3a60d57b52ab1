using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using Microsoft.AspNetCore.Builder;

namespace ControlHost.Server.Tests;

/// <summary>A real server on a free loopback port over the repository's embedded models, started once per class.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private WebApplication? _app;

    public HttpClient Client { get; private set; } = new();

    public static string Root { get; } = FindRoot();

    public static string Example(string name) => Convert.ToBase64String(File.ReadAllBytes(Path.Combine(Root, "examples", name)));

    public static ServerSettings Settings(int queue = 8, string? auth = null) => new()
    {
        Port = 0, Queue = queue, Auth = ServerSettings.ParseAuth(auth),
        Service = new ServiceOptions { ModelRoots = [Path.Combine(Root, "models")], Paths = PathPolicy.NamesOnly, Device = Engine.Onnx.DeviceChoice.Cpu, Threads = 2 },
    };

    public static async Task<(WebApplication App, HttpClient Client)> Start(ServerSettings settings)
    {
        var app = ServerHost.Build(settings);
        await app.StartAsync();
        return (app, new HttpClient { BaseAddress = new Uri(app.Urls.First()), Timeout = TimeSpan.FromMinutes(5) });
    }

    public async Task InitializeAsync() => (_app, Client) = await Start(Settings());

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (_app is not null) await _app.DisposeAsync();
    }

    public async Task<(int Status, JsonElement Body)> Post(string path, object body)
    {
        using var response = await Client.PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, await Read(response));
    }

    public async Task<(int Status, JsonElement Body)> Get(string path)
    {
        using var response = await Client.GetAsync(path);
        return ((int)response.StatusCode, await Read(response));
    }

    private static async Task<JsonElement> Read(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "ControlHost.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repository root not found");
    }
}
