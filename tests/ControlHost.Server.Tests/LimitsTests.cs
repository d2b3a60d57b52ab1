using System.Net;
using System.Text;
using System.Text.Json;
using ControlHost.Cluster;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ControlHost.Server.Tests;

/// <summary>
/// The request budget (issue 23, findings 1-3): every image is checked after each resize step it would go through,
/// units and boxes are counted, analysis routes are bounded in time and stop when their client leaves, and every
/// limit lives in one table the server's --limit option changes.
/// </summary>
public sealed class LimitsTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private static string Png(int width, int height, byte value = 0)
    {
        using var image = new Image<Rgb24>(width, height, new Rgb24(value, value, value));
        using var ms = new MemoryStream();
        image.SaveAsPng(ms);
        return Convert.ToBase64String(ms.ToArray());
    }

    private async Task<(HttpStatusCode Status, string Body)> Post(string path, string json, CancellationToken ct = default)
    {
        using var response = await f.Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    private static string Unit(string image, string extra = "") =>
        "{\"module\":\"canny\",\"model\":\"controlnet-tiny-canny\",\"image\":\"" + image + "\"" + extra + "}";

    private static string Txt2Img(params string[] units) =>
        "{\"prompt\":\"x\",\"steps\":1,\"width\":64,\"height\":64,\"alwayson_scripts\":{\"ControlNet\":{\"args\":[" + string.Join(",", units) + "]}}}";

    [Fact]
    public async Task A_strip_image_is_refused_by_its_aspect_ratio_before_it_is_enlarged()
    {
        // Finding 2: a 1x60000 image with processor_res 64 became a 64x3,840,000 hint (5.9 GB).
        var (status, body) = await Post("/sdapi/v1/txt2img", Txt2Img(Unit(Png(1, 60000), ",\"processor_res\":64")));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("aspect ratio of 60000:1", body);
        Assert.Contains("--max-aspect", body);
        var (detect, detectBody) = await Post("/controlnet/detect", "{\"controlnet_module\":\"canny\",\"controlnet_input_images\":[\"" + Png(65536, 1) + "\"]}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, detect);
        Assert.Contains("65536x1", detectBody);
    }

    [Fact]
    public async Task A_processor_resolution_that_would_make_too_many_pixels_is_refused_naming_the_step_and_limit()
    {
        // 64x512 is a fine input (aspect 8:1); at a short side of 2048 it would be 2048x16384 = 33.5 million pixels,
        // over the server's 16 Mi (and under the CLI's 64 Mi: the server's own limit is what refuses it).
        var (status, body) = await Post("/sdapi/v1/txt2img", Txt2Img(Unit(Png(64, 512), ",\"processor_res\":2048")));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("processor resolution 2048", body);
        Assert.Contains("2048x16384", body);
        Assert.Contains("--max-work-pixels", body);
        var (detect, detectBody) = await Post("/controlnet/detect",
            "{\"controlnet_module\":\"canny\",\"controlnet_processor_res\":2048,\"controlnet_input_images\":[\"" + Png(64, 512) + "\"]}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, detect);
        Assert.Contains("2048x16384", detectBody);
        // The same image at a resolution inside the budget works.
        var (fine, _) = await Post("/controlnet/detect",
            "{\"controlnet_module\":\"canny\",\"controlnet_processor_res\":128,\"controlnet_input_images\":[\"" + Png(64, 512) + "\"]}");
        Assert.Equal(HttpStatusCode.OK, fine);
    }

    [Fact]
    public async Task More_enabled_units_than_the_limit_are_a_422_and_disabled_slots_do_not_count()
    {
        var image = ServerFixture.Example("star-scene.png");
        var (status, body) = await Post("/sdapi/v1/txt2img", Txt2Img(Unit(image), Unit(image), Unit(image), Unit(image)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("4 enabled ControlNet units; the limit is 3", body);
        var disabled = "{\"enabled\":false,\"module\":\"canny\",\"image\":\"\"}";
        var (ok, okBody) = await Post("/sdapi/v1/txt2img", Txt2Img(Unit(image), disabled, disabled, disabled, disabled));
        Assert.True(ok == HttpStatusCode.OK, okBody);
    }

    [Fact]
    public async Task More_boxes_than_the_limit_are_a_422_naming_it()
    {
        var boxes = string.Join(",", Enumerable.Range(0, 17).Select(i => $"{{\"box\":[{i * 4},0,4,4]}}"));
        var (status, body) = await Post("/controlhost/v1/place", "{\"background\":\"" + ServerFixture.Example("star-scene.png") + "\",\"boxes\":[" + boxes + "]}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("17 boxes; the limit is 16", body);
    }

    [Fact]
    public async Task Suggest_boxes_on_a_large_black_background_answers()
    {
        // Finding 3: a 1x1 box on black 4096x4096 did not answer in 150 s (4 million places, a quadratic search).
        using var time = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var (status, body) = await Post("/controlhost/v1/suggest-boxes", "{\"background\":\"" + Png(4096, 4096) + "\",\"width\":1,\"height\":1,\"count\":3}", time.Token);
        Assert.True(status == HttpStatusCode.OK, body);
        var boxes = JsonDocument.Parse(body).RootElement.GetProperty("boxes");
        Assert.Equal(3, boxes.GetArrayLength());
        foreach (var b in boxes.EnumerateArray())
        {
            var xywh = b.GetProperty("box").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal([1, 1], xywh[2..]);
            Assert.InRange(xywh[0], 0, 4095);
            Assert.InRange(xywh[1], 0, 4095);
        }
    }

    [Fact]
    public async Task Analysis_work_past_its_time_bound_is_stopped_with_a_422_naming_the_limit()
    {
        var settings = ServerFixture.Settings() with { Limits = new ServerLimits().With("analysis-seconds=0.001") };
        var (app, client) = await ServerFixture.Start(settings);
        await using var _ = app;
        using var response = await client.PostAsync("/controlhost/v1/suggest-boxes",
            new StringContent("{\"background\":\"" + Png(2048, 2048) + "\",\"width\":8,\"height\":8}", Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(422, (int)response.StatusCode);
        Assert.Contains("analysis-seconds", body);
        Assert.Equal(1, ((ServerContext)app.Services.GetService(typeof(ServerContext))!).AnalysisSlots.CurrentCount); // the slot is free again
    }

    [Fact]
    public async Task Analysis_work_stops_when_its_client_leaves_and_takes_turns()
    {
        var context = new ServerContext(null!, null!, new ServerLimits(), new ServerSettings { Queue = 0 });
        using var client = new CancellationTokenSource();
        var running = new TaskCompletionSource();
        var work = Analysis.Run<int>(context, "detect", client.Token, bound =>
        {
            running.SetResult();
            while (true) bound.ThrowIfCancellationRequested(); // work that would never end on its own
        });
        await running.Task;
        Assert.Equal(0, context.AnalysisSlots.CurrentCount); // it holds the one slot
        // With no room to wait (queue 0), a second request is refused at once.
        await Assert.ThrowsAsync<QueueFullException>(() => Analysis.Run(context, "detect", CancellationToken.None, _ => 0));
        client.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => work.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, context.AnalysisSlots.CurrentCount);
    }

    [Fact]
    public void Every_limit_is_in_one_table_that_the_limit_option_sets_by_name()
    {
        var limits = new ServerLimits().With("max-steps=20").With("max-work-pixels=1000000").With("max-aspect=4");
        Assert.Equal(20, limits.MaxSteps);
        Assert.Equal(1_000_000, limits.Images.MaxWorkPixels);
        Assert.Equal(4, limits.Images.MaxAspect);
        var unknown = Assert.Throws<FormatException>(() => limits.With("max-nonsense=3"));
        Assert.Contains("max-steps", unknown.Message);
        Assert.Throws<FormatException>(() => limits.With("max-steps=0"));
        Assert.Throws<FormatException>(() => limits.With("max-steps=lots"));
        var parsed = ServerArgs.Parse(["--limit", "max-units=5", "--limit", "max-boxes=2"]);
        Assert.Equal((5, 2), (parsed.Limits.MaxUnits, parsed.Limits.MaxBoxes));
        // Each entry reads back what it sets.
        foreach (var limit in ServerLimits.Table)
            Assert.Equal(limit.Min, limit.Get(limit.Set(new ServerLimits(), limit.Min)));
    }

    [Fact]
    public async Task A_lowered_step_limit_is_a_422_naming_the_value_and_the_limit()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings() with { Limits = new ServerLimits().With("max-steps=10") });
        await using var _ = app;
        using var response = await client.PostAsync("/sdapi/v1/txt2img", new StringContent("{\"prompt\":\"x\",\"steps\":11}", Encoding.UTF8, "application/json"));
        Assert.Equal(422, (int)response.StatusCode);
        Assert.Contains("11 is not between 1 and 10", await response.Content.ReadAsStringAsync());
    }
}
