using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ControlHost.Server.Tests;

/// <summary>Each test starts its own server: queue limits, auth, interrupt and skip are per process.</summary>
public class QueueAndAuthTests
{
    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>
    /// Waits until progress shows the job sampling. The jobs below are long (many images) and are interrupted once
    /// seen, so a slow poll on a busy 2-core runner cannot miss them; a job that ends unseen fails with its status.
    /// </summary>
    private static async Task WaitForRunningJob(HttpClient client, Task<HttpResponseMessage> running)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2); // the first job also loads the models
        while (DateTime.UtcNow < deadline)
        {
            if (running.IsCompleted)
                throw new InvalidOperationException($"the job ended before a poll saw it run: {(await running).StatusCode}");
            var state = JsonDocument.Parse(await client.GetStringAsync("/sdapi/v1/progress")).RootElement.GetProperty("state");
            if (state.GetProperty("sampling_step").GetInt32() > 0) return;
            await Task.Delay(20);
        }
        throw new TimeoutException("no job started in two minutes");
    }

    [Fact]
    public async Task A_full_queue_answers_503_and_the_server_goes_on()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings(queue: 0));
        await using var _ = app;
        var running = client.PostAsync("/sdapi/v1/txt2img", Json(new { prompt = "a red star", steps = 150, seed = 1, n_iter = 16 }));
        await WaitForRunningJob(client, running);
        using var refused = await client.PostAsync("/sdapi/v1/txt2img", Json(new { prompt = "x", steps = 2 }));
        Assert.Equal(503, (int)refused.StatusCode);
        Assert.Contains("busy", await refused.Content.ReadAsStringAsync());
        using (await client.PostAsync("/sdapi/v1/interrupt", null)) { }
        Assert.Equal(200, (int)(await running).StatusCode);
        using var after = await client.PostAsync("/sdapi/v1/txt2img", Json(new { prompt = "x", steps = 2 }));
        Assert.Equal(200, (int)after.StatusCode);
    }

    [Fact]
    public async Task Interrupt_returns_the_images_finished_so_far_and_progress_reports_the_job()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var running = client.PostAsync("/sdapi/v1/txt2img", Json(new { prompt = "a red star", steps = 60, seed = 1, n_iter = 16 }));
        await WaitForRunningJob(client, running);
        var progress = JsonDocument.Parse(await client.GetStringAsync("/sdapi/v1/progress")).RootElement;
        Assert.Equal("txt2img", progress.GetProperty("state").GetProperty("job").GetString());
        Assert.True(progress.GetProperty("progress").GetDouble() > 0);
        Assert.Equal(60, progress.GetProperty("state").GetProperty("sampling_steps").GetInt32());
        using (await client.PostAsync("/sdapi/v1/interrupt", null)) { }
        using var response = await running;
        Assert.Equal(200, (int)response.StatusCode);
        var images = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("images").GetArrayLength();
        Assert.True(images < 16, $"{images} images after an interrupt");
    }

    [Fact]
    public async Task Skip_abandons_one_image_and_the_job_goes_on()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var running = client.PostAsync("/sdapi/v1/txt2img", Json(new { prompt = "a red star", steps = 150, seed = 1, n_iter = 3 }));
        await WaitForRunningJob(client, running);
        using (await client.PostAsync("/sdapi/v1/skip", null)) { }
        using var response = await running;
        var info = JsonDocument.Parse(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("info").GetString()!).RootElement;
        var seeds = info.GetProperty("all_seeds").EnumerateArray().Select(s => s.GetInt64()).ToList();
        Assert.Equal(2, seeds.Count); // the image running when skip arrived was dropped, the others finished
        Assert.Subset(new HashSet<long> { 1, 2, 3 }, seeds.ToHashSet());
    }

    [Fact]
    public async Task Api_auth_protects_every_route_including_controlnet()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings(auth: "ann:secret,bob:pw2"));
        await using var _ = app;
        foreach (var route in new[] { "/sdapi/v1/samplers", "/controlnet/version", "/controlnet/model_list" })
        {
            using var open = await client.GetAsync(route);
            Assert.Equal(401, (int)open.StatusCode);
            Assert.Equal("Basic", open.Headers.WwwAuthenticate.First().Scheme);
        }
        var wrong = new HttpRequestMessage(HttpMethod.Get, "/controlnet/version");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("ann:nope")));
        Assert.Equal(401, (int)(await client.SendAsync(wrong)).StatusCode);
        var right = new HttpRequestMessage(HttpMethod.Get, "/controlnet/version");
        right.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:pw2")));
        using var ok = await client.SendAsync(right);
        Assert.Equal(200, (int)ok.StatusCode);
        Assert.True(ok.Headers.Contains("X-Process-Time"));
    }

    [Fact]
    public async Task The_progress_stream_sends_the_running_jobs_steps_as_server_sent_events()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var running = client.PostAsync("/sdapi/v1/txt2img", Json(new { prompt = "a red star", steps = 80, seed = 1, n_iter = 16 }));
        await WaitForRunningJob(client, running);
        using var response = await client.GetAsync("/controlhost/v1/progress/stream?seconds=2", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var line = await reader.ReadLineAsync();
        Assert.StartsWith("data: ", line);
        var e = JsonDocument.Parse(line!["data: ".Length..]).RootElement;
        Assert.Equal("txt2img", e.GetProperty("job").GetString());
        Assert.Equal(80, e.GetProperty("steps").GetInt32());
        using (await client.PostAsync("/sdapi/v1/interrupt", null)) { }
        using (await running) { }
    }

    [Fact]
    public async Task Interrupt_with_a_ControlNet_unit_returns_the_partly_denoised_image_its_seed_and_the_map()
    {
        // Finding 8: only the detected map came back (images: [map], all_seeds: []), and clients took it for the result.
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var unit = new { module = "canny", model = "controlnet-tiny-canny", image = ServerFixture.Example("star-scene.png") };
        var running = client.PostAsync("/sdapi/v1/txt2img", Json(new
        {
            prompt = "a red star", steps = 150, seed = 7, width = 128, height = 128,
            alwayson_scripts = new { ControlNet = new { args = new[] { unit } } },
        }));
        await WaitForRunningJob(client, running);
        using (await client.PostAsync("/sdapi/v1/interrupt", null)) { }
        using var response = await running;
        var root = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(2, root.GetProperty("images").GetArrayLength()); // the partial image, then the map
        var info = JsonDocument.Parse(root.GetProperty("info").GetString()!).RootElement;
        Assert.Equal([7L], info.GetProperty("all_seeds").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(7, info.GetProperty("seed").GetInt64());
        Assert.Contains("Steps: 150", info.GetProperty("infotexts")[0].GetString());
        Assert.Contains(info.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("partly denoised"));
        // The first image is the generation, not the canny map (a map is black and white).
        using var first = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Convert.FromBase64String(root.GetProperty("images")[0].GetString()!));
        var colourful = 0;
        first.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
                foreach (var p in rows.GetRowSpan(y))
                    if (p.R != p.G || p.G != p.B) colourful++;
        });
        Assert.True(colourful > 0, "the first image is grey: the map, not the generation");
    }

    [Fact]
    public async Task Progress_keeps_the_last_preview_between_previews()
    {
        // Finding 8: current_image was null on every step without a new preview.
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var running = client.PostAsync("/sdapi/v1/txt2img", Json(new { prompt = "a red star", steps = 150, seed = 1, n_iter = 4 }));
        await WaitForRunningJob(client, running);
        var seen = 0;
        var polls = 0;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (polls < 40 && DateTime.UtcNow < deadline && !running.IsCompleted)
        {
            var p = JsonDocument.Parse(await client.GetStringAsync("/sdapi/v1/progress")).RootElement;
            var hasImage = p.GetProperty("current_image").ValueKind == JsonValueKind.String;
            if (seen > 0)
            {
                Assert.True(hasImage, $"current_image dropped at step {p.GetProperty("state").GetProperty("sampling_step")}");
                polls++;
            }
            else if (hasImage) seen++;
            await Task.Delay(15);
        }
        Assert.True(seen > 0, "no preview was seen");
        Assert.True(polls >= 10, $"only {polls} polls after the first preview");
        using (await client.PostAsync("/sdapi/v1/interrupt", null)) { }
        using (await running) { }
    }
}
