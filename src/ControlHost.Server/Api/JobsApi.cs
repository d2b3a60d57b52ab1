using System.Text.Json;
using ControlHost.Application.Jobs;
using ControlHost.Cluster;

namespace ControlHost.Server.Api;

/// <summary>
/// The job API (/controlhost/v1/jobs): submit a job document and get its id at once, then its status, its events
/// (server-sent), its result, or cancel it. An Idempotency-Key header makes a retried submission the same job.
/// The same routes work on any API node of a cluster: the queue behind them is in-process or NATS JetStream.
/// </summary>
internal static class JobsApi
{
    private static JsonSerializerOptions Json => ClusterJson.Options;

    public static void Map(WebApplication app)
    {
        var jobs = app.MapGroup("/controlhost/v1/jobs");
        jobs.MapPost("", async (HttpRequest r, ServerContext c, CancellationToken ct) =>
        {
            using var buffer = new MemoryStream();
            await r.Body.CopyToAsync(buffer, ct);
            var document = JobDocument.Parse(buffer.ToArray(), c.Limits.Jobs);
            var key = r.Headers["Idempotency-Key"].ToString();
            var ticket = await c.Jobs.SubmitAsync(new JobSubmission(document, key.Length == 0 ? null : key, JobCalls.ClientOf(r.HttpContext), document.Operation), ct);
            var status = await c.Jobs.StatusAsync(ticket.Id, ct);
            return Results.Json(new { id = ticket.Id, existing = ticket.Existing, state = status?.State, status_url = $"/controlhost/v1/jobs/{ticket.Id}" },
                Json, statusCode: ticket.Existing ? 200 : 202);
        }).Accepts<JobDocument>("application/json");
        // An image uploaded once and named by its hash in any number of jobs ("sha256:HEX").
        // An image uploaded once ({"image": base64}) and named by its hash in any number of jobs ("sha256:HEX").
        app.MapPost("/controlhost/v1/blobs", async (HttpRequest r, ServerContext c, CancellationToken ct) =>
        {
            var body = new Body(await SdApi.ReadJson(r), []);
            var text = body.Str("image");
            if (text is null) throw ValidationException.One("image", "field required: the image file's bytes in base64", "value_error.missing");
            var bytes = Application.Sources.ImageSource.FromBase64(text, "image").Bytes(c.Service.Paths, "image");
            using (var probe = new MemoryStream(bytes))
            {
                try
                {
                    var (w, h) = Engine.Imaging.ImageIo.Identify(probe, "image");
                    c.Service.Images.CheckInput(w, h, "image");
                }
                catch (InvalidDataException e)
                {
                    throw ValidationException.One("image", e.Message, "value_error.image");
                }
            }
            var hash = ImageRef.HashOf(bytes);
            await c.Jobs.Blobs.PutAsync(hash, bytes, ct);
            return Results.Json(new { sha256 = hash, image = ImageRef.HashPrefix + hash });
        });
        jobs.MapGet("/{id}", async (string id, ServerContext c, CancellationToken ct) =>
            await c.Jobs.StatusAsync(id, ct) is { } status ? Results.Json(status, Json) : Results.Json(new { detail = $"no job '{id}'" }, statusCode: 404));
        // The result once there is one: ?wait=true waits for it; a job not finished answers 409 with its state.
        jobs.MapGet("/{id}/result", async (string id, bool? wait, ServerContext c, CancellationToken ct) =>
        {
            var status = await c.Jobs.StatusAsync(id, ct) ?? throw new KeyNotFoundException($"no job '{id}'");
            if (!status.IsFinished && wait != true)
                return Results.Json(new { detail = $"job {id} is {status.State.ToString().ToLowerInvariant()}; ask again, or with ?wait=true", state = status.State }, Json, statusCode: 409);
            var result = await c.Jobs.WaitAsync(id, ct); // a failed job throws: answered with its error
            return Results.Json(result, Json);
        });
        jobs.MapGet("/{id}/events", async (string id, HttpContext http, ServerContext c) =>
        {
            if (await c.Jobs.StatusAsync(id, http.RequestAborted) is null) throw new KeyNotFoundException($"no job '{id}'");
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            try
            {
                await foreach (var e in c.Jobs.EventsAsync(id, http.RequestAborted))
                {
                    await http.Response.WriteAsync($"id: {e.Sequence}\nevent: {e.Kind}\ndata: {JsonSerializer.Serialize(e, Json)}\n\n", http.RequestAborted);
                    await http.Response.Body.FlushAsync(http.RequestAborted);
                }
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
                // the client went away
            }
        });
        jobs.MapPost("/{id}/cancel", async (string id, ServerContext c, CancellationToken ct) =>
        {
            var outcome = await c.Jobs.CancelAsync(id, ct);
            return outcome.Outcome == "finished"
                ? Results.Json(new { id, outcome = outcome.Outcome, state = outcome.State, detail = $"job {id} had already {outcome.State.ToString().ToLowerInvariant()}; nothing to cancel" }, Json, statusCode: 409)
                : Results.Json(new { id, outcome = outcome.Outcome, state = outcome.State }, Json);
        });
    }
}
