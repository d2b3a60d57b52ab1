using ControlHost.Application.Jobs;
using ControlHost.Cluster;

namespace ControlHost.Server.Api;

/// <summary>
/// A synchronous route (A1111's txt2img, img2img, ControlHost's place) on top of the job queue: the request's job is
/// submitted like any other, and the route waits for its result. A client that hangs up cancels its job.
/// </summary>
internal static class JobCalls
{
    /// <summary>Who is asking, for per-client limits and idempotency keys: the Basic user, else the address.</summary>
    public static string ClientOf(HttpContext http) =>
        BasicCredentials.Of(http.Request) is { } given ? "user:" + given.User : "ip:" + (http.Connection.RemoteIpAddress?.ToString() ?? "local");

    public static async Task<JobResult> RunAsync(HttpContext http, ServerContext context, JobDocument document, string name, CancellationToken cancellation)
    {
        document.Validate(context.Limits.Jobs);
        var ticket = await context.Jobs.SubmitAsync(new JobSubmission(document, null, ClientOf(http), name), cancellation);
        try
        {
            return await context.Jobs.WaitAsync(ticket.Id, cancellation);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            await context.Jobs.CancelAsync(ticket.Id, CancellationToken.None);
            throw;
        }
    }

    /// <summary>A result image's PNG as base64, as A1111 answers.</summary>
    public static string Base64(ImageRef png) => Convert.ToBase64String(png.Data ?? throw new InvalidOperationException("a result image by hash reached a route"));
}
