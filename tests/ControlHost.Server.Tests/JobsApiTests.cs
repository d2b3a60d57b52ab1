using System.Net;
using System.Text;
using System.Text.Json;

namespace ControlHost.Server.Tests;

/// <summary>The job API over the in-process queue: submit returns an id at once, events arrive in order, results and
/// errors come by id, an idempotency key makes one job, cancel works on queued, running and finished jobs.</summary>
public class JobsApiTests
{
    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static string Generate(int steps, long seed, string size = "64") =>
        $$$"""{"version": 1, "generate": {"prompt": "a red star on a blue background", "steps": {{{steps}}}, "seed": {{{seed}}}, "width": {{{size}}}, "height": {{{size}}}, "preview_every": 5} }""";

    private static async Task<JsonElement> Read(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    private static async Task<string> Submit(HttpClient client, string document, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/controlhost/v1/jobs") { Content = Json(document) };
        if (key is not null) request.Headers.Add("Idempotency-Key", key);
        using var response = await client.SendAsync(request);
        var body = await Read(response);
        Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, body.ToString());
        return body.GetProperty("id").GetString()!;
    }

    private static async Task<List<JsonElement>> Events(HttpClient client, string id)
    {
        var text = await client.GetStringAsync($"/controlhost/v1/jobs/{id}/events");
        return text.Split('\n').Where(l => l.StartsWith("data: ", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l[6..]).RootElement.Clone()).ToList();
    }

    [Fact]
    public async Task A_submitted_job_reports_ordered_events_and_its_result_is_the_bytes_txt2img_gives()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var id = await Submit(client, Generate(6, 21));
        var events = await Events(client, id);
        Assert.Equal("queued", events[0].GetProperty("kind").GetString());
        Assert.Equal("succeeded", events[^1].GetProperty("kind").GetString());
        var sequence = events.Select(e => e.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(sequence.Order(), sequence);
        Assert.Equal(sequence.Count, sequence.Distinct().Count());
        Assert.Contains(events, e => e.GetProperty("kind").GetString() == "progress" && e.TryGetProperty("preview", out var p) && p.ValueKind == JsonValueKind.String);

        using var status = await client.GetAsync($"/controlhost/v1/jobs/{id}");
        Assert.Equal("succeeded", (await Read(status)).GetProperty("state").GetString());
        var result = await Read(await client.GetAsync($"/controlhost/v1/jobs/{id}/result"));
        var png = result.GetProperty("images")[0].GetProperty("png").GetString()!;
        Assert.Equal(21, result.GetProperty("parameters").GetProperty("generate").GetProperty("seed").GetInt64());

        // The A1111 route is the same job document underneath: the same bytes.
        using var sd = await client.PostAsync("/sdapi/v1/txt2img", Json("""{"prompt": "a red star on a blue background", "steps": 6, "seed": 21, "width": 64, "height": 64}"""));
        Assert.Equal(png, (await Read(sd)).GetProperty("images")[0].GetString());
    }

    [Fact]
    public async Task The_same_idempotency_key_twice_is_one_job()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var first = await Submit(client, Generate(2, 1), key: "order-17");
        var second = await Submit(client, Generate(2, 1), key: "order-17");
        var other = await Submit(client, Generate(2, 1), key: "order-18");
        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task Cancel_stops_a_queued_job_and_a_running_one_and_says_a_finished_one_is_finished()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var running = await Submit(client, Generate(150, 2, "256"));
        var queued = await Submit(client, Generate(2, 3));
        // Wait until the first runs (its first progress event), then cancel the one behind it, then it.
        for (var i = 0; i < 600 && (await Read(await client.GetAsync($"/controlhost/v1/jobs/{running}"))).GetProperty("state").GetString() != "running"; i++)
            await Task.Delay(50);
        var q = await Read(await client.PostAsync($"/controlhost/v1/jobs/{queued}/cancel", null));
        Assert.Equal("cancelled", q.GetProperty("outcome").GetString());
        var r = await Read(await client.PostAsync($"/controlhost/v1/jobs/{running}/cancel", null));
        Assert.Equal("cancelling", r.GetProperty("outcome").GetString());
        Assert.Equal("cancelled", (await Events(client, running))[^1].GetProperty("kind").GetString());
        Assert.Equal("cancelled", (await Events(client, queued))[^1].GetProperty("kind").GetString());
        Assert.DoesNotContain(await Events(client, queued), e => e.GetProperty("kind").GetString() == "started"); // it never ran
        using var result = await client.GetAsync($"/controlhost/v1/jobs/{running}/result");
        Assert.Equal(HttpStatusCode.Conflict, result.StatusCode);

        var done = await Submit(client, Generate(2, 4));
        await Events(client, done);
        using var late = await client.PostAsync($"/controlhost/v1/jobs/{done}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Contains("already succeeded", await late.Content.ReadAsStringAsync());
        using var unknown = await client.GetAsync("/controlhost/v1/jobs/nosuchjob");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task An_image_uploaded_once_is_named_by_its_hash_and_a_missing_hash_fails_the_job_naming_it()
    {
        var (app, client) = await ServerFixture.Start(ServerFixture.Settings());
        await using var _ = app;
        var bytes = File.ReadAllBytes(Path.Combine(ServerFixture.Root, "examples", "star-scene.png"));
        var upload = await Read(await client.PostAsync("/controlhost/v1/blobs", Json($$"""{"image": "{{Convert.ToBase64String(bytes)}}"}""")));
        var image = upload.GetProperty("image").GetString()!;
        Assert.StartsWith("sha256:", image);
        var doc = $$$"""{"version": 1, "generate": {"prompt": "a red star", "steps": 2, "seed": 5, "width": 64, "height": 64, "units": [{"condition": "canny", "image": "{{{image}}}"}]} }""";
        var id = await Submit(client, doc);
        Assert.Equal("succeeded", (await Events(client, id))[^1].GetProperty("kind").GetString());

        var missing = await Submit(client, doc.Replace(image, "sha256:" + new string('0', 64), StringComparison.Ordinal));
        var failed = (await Events(client, missing))[^1];
        Assert.Equal("failed", failed.GetProperty("kind").GetString());
        Assert.Contains("is not stored here", failed.GetProperty("error").GetProperty("message").GetString());
        using var result = await client.GetAsync($"/controlhost/v1/jobs/{missing}/result");
        Assert.Equal(422, (int)result.StatusCode);
        using var junk = await client.PostAsync("/controlhost/v1/blobs", Json("""{"image": "bm90IGFuIGltYWdl"}"""));
        Assert.Equal(422, (int)junk.StatusCode);
    }

    [Fact]
    public async Task A_bad_document_gets_every_field_error_and_a_client_over_its_limit_gets_429()
    {
        var settings = ServerFixture.Settings() with { Limits = new ServerLimits().With("max-jobs-per-client=1") };
        var (app, client) = await ServerFixture.Start(settings);
        await using var _ = app;
        using var bad = await client.PostAsync("/controlhost/v1/jobs", Json("""{"version": 1, "generate": {"steps": 0, "cfg_scale": 500, "units": [{"condition": "canny", "weight": 9}]}}"""));
        Assert.Equal(422, (int)bad.StatusCode);
        var locs = (await Read(bad)).GetProperty("detail").EnumerateArray().Select(d => string.Join(".", d.GetProperty("loc").EnumerateArray().Select(x => x.GetString()))).ToList();
        Assert.Equal(["body.generate.steps", "body.generate.cfg_scale", "body.generate.units.0.image", "body.generate.units.0.weight"], locs);

        await Submit(client, Generate(150, 6, "256"));
        using var second = await client.PostAsync("/controlhost/v1/jobs", Json(Generate(2, 7)));
        Assert.Equal(429, (int)second.StatusCode);
        Assert.Contains("per-client", await second.Content.ReadAsStringAsync());
    }
}
