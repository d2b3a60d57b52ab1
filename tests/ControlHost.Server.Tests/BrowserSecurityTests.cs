using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;

namespace ControlHost.Server.Tests;

/// <summary>
/// Issue 23 in a real browser (Debian's chromium through Playwright): a page on another origin cannot change the
/// server's state with fetch or a form, the server's own page can, and the API reference page needs nothing from the
/// internet.
/// </summary>
public sealed class BrowserSecurityTests : IAsyncLifetime
{
    private static string Chromium => Environment.GetEnvironmentVariable("CONTROLHOST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private readonly string _models = Directory.CreateTempSubdirectory("controlhost-browser-").FullName;
    private WebApplication? _server, _attacker;
    private HttpClient _client = new();
    private string _attackerUrl = "";

    public async Task InitializeAsync()
    {
        // Two checkpoints to switch between: the embedded model under two names.
        var tiny = Path.Combine(ServerFixture.Root, "models", "tiny-sd");
        Directory.CreateSymbolicLink(Path.Combine(_models, "tiny-sd"), tiny);
        Directory.CreateSymbolicLink(Path.Combine(_models, "other-sd"), tiny);
        var settings = ServerFixture.Settings();
        (_server, _client) = await ServerFixture.Start(settings with { Service = settings.Service with { ModelRoots = [_models] } });
        var target = _client.BaseAddress!.ToString().TrimEnd('/');
        // The other site: same machine, another port, so another origin.
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        _attacker = builder.Build();
        _attacker.MapGet("/", () => Results.Content(AttackPage(target), "text/html; charset=utf-8"));
        await _attacker.StartAsync();
        _attackerUrl = _attacker.Urls.First();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        if (_attacker is not null) await _attacker.DisposeAsync();
        Directory.Delete(_models, recursive: true);
    }

    /// <summary>What a malicious page would try: fetches without a preflight (text/plain, no-cors), a JSON fetch (which
    /// needs CORS), and a form whose text/plain body spells JSON.</summary>
    private static string AttackPage(string target) => $$"""
        <!doctype html><html><body>
        <form id="form" method="post" enctype="text/plain" action="{{target}}/sdapi/v1/options">
          <input name='{"sd_model_checkpoint":"other-sd","x":"' value='"}'>
        </form>
        <script>
          window.attack = async () => {
            const body = JSON.stringify({ sd_model_checkpoint: "other-sd" });
            const results = [];
            for (const [name, init] of [
              ["text/plain", { method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" }, body }],
              ["form", { method: "POST", mode: "no-cors", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body }],
              ["json", { method: "POST", headers: { "Content-Type": "application/json" }, body }],
            ]) {
              try { const r = await fetch("{{target}}/sdapi/v1/options", init); results.push(name + ":" + r.type + ":" + r.status); }
              catch (e) { results.push(name + ":blocked"); }
            }
            return results;
          };
        </script></body></html>
        """;

    private async Task<string> Checkpoint() =>
        (await _client.GetFromJsonAsync<JsonElement>("/sdapi/v1/options")).GetProperty("sd_model_checkpoint").GetString()!;

    private static async Task<IBrowser> Launch(IPlaywright playwright)
    {
        Assert.True(File.Exists(Chromium), $"no browser at {Chromium}: install Debian's chromium or set CONTROLHOST_CHROMIUM");
        return await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
    }

    [Fact]
    public async Task A_page_on_another_origin_cannot_switch_the_checkpoint_and_the_servers_own_page_can()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Launch(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(_attackerUrl);
        var results = await page.EvaluateAsync<string[]>("() => window.attack()");
        Assert.Contains("json:blocked", results); // no CORS: the browser stops it at the preflight
        Assert.StartsWith("tiny-sd", await Checkpoint());
        // The form navigates to the server's answer: a refusal (the browser sent the other page's Origin).
        var navigation = page.WaitForURLAsync("**/sdapi/v1/options");
        await page.EvalOnSelectorAsync("#form", "f => f.submit()");
        await navigation;
        Assert.Contains("cross-site", await page.ContentAsync());
        Assert.StartsWith("tiny-sd", await Checkpoint());

        // The server's own page, with the right content type, works: the check above would have seen a switch.
        await page.GotoAsync(_client.BaseAddress!.ToString());
        var status = await page.EvaluateAsync<int>("""
            async () => (await fetch("/sdapi/v1/options", { method: "POST", headers: { "Content-Type": "application/json" },
                                                           body: JSON.stringify({ sd_model_checkpoint: "other-sd" }) })).status
            """);
        Assert.Equal(200, status);
        Assert.StartsWith("other-sd", await Checkpoint());
    }

    [Fact]
    public async Task The_API_reference_page_renders_with_nothing_from_the_internet()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await Launch(playwright);
        var page = await browser.NewPageAsync();
        var own = new Uri(_client.BaseAddress!.ToString());
        var outside = new List<string>();
        await page.RouteAsync("**/*", async route =>
        {
            var url = new Uri(route.Request.Url);
            if (url.Host == own.Host && url.Port == own.Port) await route.ContinueAsync();
            else
            {
                lock (outside) outside.Add(route.Request.Url);
                await route.AbortAsync();
            }
        });
        await page.GotoAsync(new Uri(own, "/scalar/v1").ToString());
        await Assertions.Expect(page.GetByText("/sdapi/v1/txt2img").First).ToBeVisibleAsync(new() { Timeout = 60_000 });
        Assert.Empty(outside);
    }
}
