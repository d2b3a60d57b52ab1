using Microsoft.Playwright;
using static ControlHost.Cluster.Tests.ClusterFixture;

namespace ControlHost.Cluster.Tests;

/// <summary>The web page, unchanged, through an API node that runs no model: its job goes to a worker process over the
/// broker, and its events (progress, previews) and result come back through the node.</summary>
public class PageThroughApiNodeTests
{
    private static string Chromium => Environment.GetEnvironmentVariable("CONTROLHOST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    [Fact]
    public async Task The_page_generates_on_a_worker_behind_an_api_node()
    {
        Assert.True(File.Exists(Chromium), $"no browser at {Chromium}: install Debian's chromium or set CONTROLHOST_CHROMIUM");
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        using var worker = WorkerProcess.Start(broker.Url, "behind");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync();
        var pageErrors = new List<string>();
        page.PageError += (_, message) => pageErrors.Add(message);
        var statuses = new List<string>();
        await page.ExposeFunctionAsync("reportStatus", (string s) => { lock (statuses) statuses.Add(s); });
        await page.GotoAsync(client.BaseAddress!.ToString());
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("ready");
        // Every status line the page shows while it follows the job's events.
        await page.EvaluateAsync("() => new MutationObserver(() => reportStatus(document.getElementById('status').textContent)).observe(document.getElementById('status'), { childList: true, characterData: true, subtree: true })");

        foreach (var (id, value) in new[] { ("#width", "128"), ("#height", "128"), ("#steps", "30"), ("#seed", "21") })
            await page.FillAsync(id, value);
        await page.ClickAsync("#generate");
        await Assertions.Expect(page.Locator("#status")).ToHaveTextAsync("done", new() { Timeout = 120_000 });

        Assert.Equal(1, await page.Locator("#gallery a").CountAsync());
        Assert.Contains("Seed: 21", await page.TextContentAsync("#parameters") ?? "");
        lock (statuses) Assert.Contains(statuses, s => s.StartsWith("step ", StringComparison.Ordinal)); // progress from the worker, through the node
        Assert.Contains("succeeded", worker.Output);
        Assert.Empty(pageErrors);
    }
}
