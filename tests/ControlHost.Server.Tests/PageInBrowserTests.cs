using Microsoft.Playwright;

namespace ControlHost.Server.Tests;

/// <summary>
/// The web page in a real browser: Playwright for .NET drives Debian's chromium (no browser download is possible
/// here, so the browser is the system's, found through its executable path) against a real server on loopback.
/// </summary>
public sealed class PageInBrowserTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    /// <summary>CONTROLHOST_CHROMIUM, else Debian's chromium package.</summary>
    private static string Chromium => Environment.GetEnvironmentVariable("CONTROLHOST_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    [Fact]
    public async Task The_page_adds_a_canny_unit_shows_its_hint_places_it_in_a_drawn_box_and_shows_the_result_with_its_parameters()
    {
        Assert.True(File.Exists(Chromium),
            $"no browser at {Chromium}: install Debian's chromium (apt-get install -y chromium, as the README's set-up says) or set CONTROLHOST_CHROMIUM");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
        var pageErrors = new List<string>();
        page.PageError += (_, message) => pageErrors.Add(message);
        var calls = new List<string>();
        page.Request += (_, request) => calls.Add($"{request.Method} {new Uri(request.Url).AbsolutePath}");

        await page.GotoAsync(server.Client.BaseAddress!.ToString());
        var status = page.Locator("#status");
        await Assertions.Expect(status).ToHaveTextAsync("ready");

        await page.ClickAsync("#add-unit");
        var unit = page.Locator("#units .unit").First;
        await unit.Locator(".condition").SelectOptionAsync("canny");
        // The unit's options come from the plugin's declared metadata (canny's two thresholds).
        Assert.True(await unit.Locator(".options input").CountAsync() >= 2);
        var scene = Path.Combine(ServerFixture.Root, "examples", "star-scene.png");
        await unit.Locator(".image").SetInputFilesAsync(scene);
        // The live hint: /controlnet/detect's Canny map, shown beside the upload.
        await page.WaitForFunctionAsync("() => document.querySelector('#units .unit .hint').src.startsWith('data:image/png')");
        Assert.Contains("POST /controlnet/detect", calls);

        await page.Locator("#background").SetInputFilesAsync(scene);
        await page.WaitForFunctionAsync("() => document.getElementById('status').textContent === 'ready'");
        var canvas = (await page.Locator("#canvas").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(canvas.X + 200, canvas.Y + 40);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(canvas.X + 340, canvas.Y + 200, new() { Steps = 5 });
        await page.Mouse.UpAsync();
        Assert.Equal(1, await page.Locator("#boxes li").CountAsync());

        await page.FillAsync("#steps", "8");
        await page.FillAsync("#seed", "5");
        await page.ClickAsync("#generate");
        await Assertions.Expect(status).ToHaveTextAsync("done", new() { Timeout = 180_000 });

        Assert.Contains("POST /controlhost/v1/place", calls);
        var gallery = page.Locator("#gallery a");
        Assert.Equal(1, await gallery.CountAsync());
        Assert.StartsWith("data:image/png;base64,", await gallery.First.GetAttributeAsync("href"));
        // The result's A1111 parameters text, as stored in the PNG the gallery downloads.
        var parameters = await page.TextContentAsync("#parameters") ?? "";
        Assert.Contains("Steps: 8", parameters);
        Assert.Contains("Seed: 5", parameters);
        Assert.Contains("ControlNet 0", parameters);
        Assert.Empty(pageErrors);
        await page.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "page-done.png") });
    }
}
