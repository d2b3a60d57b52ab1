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
        await page.Locator("#canvas").ScrollIntoViewIfNeededAsync();
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

        // The placement went as a job document (the same the CLI and the job API take), followed by its events.
        Assert.Contains("POST /controlhost/v1/jobs", calls);
        Assert.Contains(calls, c => c.StartsWith("GET /controlhost/v1/jobs/", StringComparison.Ordinal) && c.EndsWith("/events", StringComparison.Ordinal));
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

    [Fact]
    public async Task The_pages_A1111_controls_send_their_fields_and_the_results_come_back_to_the_gallery_seed_and_img2img()
    {
        Assert.True(File.Exists(Chromium), $"no browser at {Chromium}");
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 1100 } });
        var pageErrors = new List<string>();
        page.PageError += (_, message) => pageErrors.Add(message);
        var bodies = new List<string>();
        page.Request += (_, request) => { if (request.Url.EndsWith("/controlhost/v1/jobs") && request.Method == "POST") bodies.Add(request.PostData ?? ""); };
        await page.GotoAsync(server.Client.BaseAddress!.ToString());
        var status = page.Locator("#status");
        await Assertions.Expect(status).ToHaveTextAsync("ready");
        Assert.Contains("tiny-sd", await page.Locator("#checkpoint option").AllTextContentsAsync() is var names ? string.Join(",", names) : "");
        var upscalers = await page.Locator("#hr-upscaler option").AllTextContentsAsync();
        Assert.Contains("Latent", upscalers);
        Assert.Contains("Lanczos", upscalers);

        // A unit that is on without an image is said beside it and in the error line, not dropped.
        await page.ClickAsync("#add-unit");
        var unit = page.Locator("#units .unit").First;
        await unit.Locator(".condition").SelectOptionAsync("canny");
        await page.ClickAsync("#generate");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("without an image");
        Assert.Contains("no image", await unit.Locator(".unit-note").TextContentAsync());
        Assert.Empty(bodies);

        await unit.Locator(".image").SetInputFilesAsync(Path.Combine(ServerFixture.Root, "examples", "star-scene.png"));
        await unit.Locator(".model").SelectOptionAsync(new SelectOptionValue { Label = (await unit.Locator(".model option").AllTextContentsAsync()).First(t => t.Contains("canny")) });
        await unit.Locator(".pixel-perfect").UncheckAsync();
        await unit.Locator(".processor-res").FillAsync("64");
        await unit.Locator(".hr-option").SelectOptionAsync("Low res only");
        await page.Locator("#hires").CheckAsync(); // opens the hires settings
        foreach (var (id, value) in new[] { ("#width", "64"), ("#height", "64"), ("#n-iter", "2"), ("#steps", "4"), ("#seed", "11"), ("#hr-scale", "2"), ("#hr-steps", "3") })
            await page.FillAsync(id, value);
        await page.Locator("#denoise").FillAsync("0.5");
        await page.Locator("#hr-upscaler").SelectOptionAsync("Lanczos");
        await page.ClickAsync("#generate");
        await Assertions.Expect(status).ToHaveTextAsync("done", new() { Timeout = 180_000 });
        Assert.Equal("", await page.TextContentAsync("#error"));

        // The job document the page sent: the form in the document's names.
        var body = System.Text.Json.JsonDocument.Parse(bodies.Single()).RootElement.GetProperty("generate");
        Assert.Equal(2, body.GetProperty("n_iter").GetInt32());
        Assert.Equal(64, body.GetProperty("width").GetInt32());
        Assert.Equal("Lanczos", body.GetProperty("hires").GetProperty("upscaler").GetString());
        Assert.Equal(0.5, body.GetProperty("hires").GetProperty("strength").GetDouble());
        Assert.Equal("tiny-sd", body.GetProperty("model").GetString());
        var sent = body.GetProperty("units")[0];
        Assert.Equal(64, sent.GetProperty("processor_resolution").GetInt32());
        Assert.Equal("Low res only", sent.GetProperty("hires_pass").GetString());
        Assert.Contains("canny", sent.GetProperty("model").GetString());
        Assert.True(sent.GetProperty("options").TryGetProperty("low_threshold", out _)); // the condition's own options, by name

        // The two generated images (not the detected map) are in the gallery, at the hires size.
        Assert.Equal(2, await page.Locator("#gallery a").CountAsync());
        Assert.Equal(128, await page.EvaluateAsync<int>("() => new Promise(r => { const i = new Image(); i.onload = () => r(i.naturalWidth); i.src = document.querySelector('#gallery a').href; })"));
        Assert.Contains("Hires upscale: 2", await page.TextContentAsync("#parameters"));

        // The extras tab on the last result: Nearest x2 of the 128-pixel result.
        await page.Locator("#extras-upscaler").SelectOptionAsync("Nearest");
        await page.ClickAsync("#upscale");
        await Assertions.Expect(status).ToHaveTextAsync("upscaled");
        Assert.Equal(3, await page.Locator("#gallery a").CountAsync());
        Assert.Equal(256, await page.EvaluateAsync<int>("() => new Promise(r => { const i = new Image(); i.onload = () => r(i.naturalWidth); i.src = document.querySelector('#gallery a').href; })"));

        await page.FillAsync("#seed", "-1");
        await page.ClickAsync("#reuse-seed");
        Assert.Equal("11", await page.InputValueAsync("#seed"));
        await page.ScreenshotAsync(new() { Path = Path.Combine(AppContext.BaseDirectory, "page-a1111.png"), FullPage = true });
        await page.ClickAsync("#to-img2img");
        await Assertions.Expect(status).ToContainTextAsync("background");
        Assert.True(await page.EvaluateAsync<bool>("() => state.background !== null && state.backgroundImage.width === 256"));

        // A bad value's error shows beside the result.
        await unit.Locator(".enabled").UncheckAsync();
        await page.FillAsync("#width", "60");
        await page.ClickAsync("#generate");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("width");
        Assert.Empty(pageErrors);
    }
}
