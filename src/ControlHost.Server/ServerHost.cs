using System.Diagnostics;
using System.Text;
using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Server.Api;
using ControlHost.Application.Jobs;
using ControlHost.Cluster;
using Scalar.AspNetCore;


namespace ControlHost.Server;

/// <summary>
/// Builds the server: one generation service and one queue for the process, A1111's and the ControlNet extension's
/// routes, HTTP Basic when --api-auth is given, and errors answered in A1111's shapes (422 naming the field, 503
/// when the queue is full, 500 for an internal fault, logged with its stack).
/// </summary>
public static class ServerHost
{
    public static WebApplication Build(ServerSettings settings, string[]? args = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args ?? []);
        // One line per request at Information buried the server's own messages under load (1,000 requests, 4,000 lines);
        // ASP.NET Core's per-request logging is kept for warnings and errors, the host's start-up lines stay.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = settings.Limits.MaxBodyBytes;
            // Port 0: a free loopback port, chosen by the system (tests; the address is in app.Urls once started).
            if (settings.Port == 0) k.Listen(System.Net.IPAddress.Loopback, 0);
            else if (settings.Listen) k.ListenAnyIP(settings.Port);
            else k.ListenLocalhost(settings.Port);
        });
        builder.Services.AddOpenApi();
        if (settings.CorsOrigins.Count > 0)
            builder.Services.AddCors(o => o.AddDefaultPolicy(p => p.WithOrigins(settings.CorsOrigins.ToArray()).AllowAnyHeader().AllowAnyMethod()));
        builder.Services.AddSingleton(_ => new GenerationService(settings.Service with { Images = settings.Limits.Images }));
        if (settings.Nats is { } nats)
        {
            // The queue's bounds are the server's own (--queue, --limit max-jobs-per-client), kept by the broker's stream.
            settings = settings with { Cluster = settings.Cluster with { Capacity = Math.Max(1, settings.Queue), PerClient = settings.Limits.MaxJobsPerClient } };
            // A cluster: jobs go through the broker; this process also runs them unless it is an API node only.
            builder.Services.AddSingleton<IJobQueue>(_ => NatsJobQueue.ConnectAsync(nats, settings.Cluster).GetAwaiter().GetResult());
            if (settings.Role == ServerRole.Both) builder.Services.AddHostedService(sp => new WorkerService(nats, sp.GetRequiredService<GenerationService>(), settings.Cluster,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("worker")));
        }
        else
        {
            builder.Services.AddSingleton<IJobQueue>(sp => new InProcessJobQueue(sp.GetRequiredService<GenerationService>(),
                new QueueOptions { Capacity = settings.Queue, PerClient = settings.Limits.MaxJobsPerClient }));
        }
        builder.Services.AddSingleton(sp => new ServerContext(sp.GetRequiredService<GenerationService>(), sp.GetRequiredService<IJobQueue>(), settings.Limits, settings));
        var app = builder.Build();
        // A cluster node connects at start: a broker it cannot reach is a start-up error, not a first request's.
        if (settings.Nats is not null) app.Services.GetRequiredService<IJobQueue>();
        app.Use(async (http, next) =>
        {
            var clock = Stopwatch.StartNew();
            http.Response.OnStarting(() =>
            {
                http.Response.Headers["X-Process-Time"] = clock.Elapsed.TotalSeconds.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
                return Task.CompletedTask;
            });
            await next(http);
        });
        if (settings.CorsOrigins.Count > 0) app.UseCors();
        app.Use((http, next) => CrossSiteGuard.Check(http, settings, () => next(http)));
        if (settings.Auth.Count > 0) app.Use((http, next) => Authorised(http, settings) ? next(http) : Refuse(http));
        app.Use(async (http, next) =>
        {
            try
            {
                await next(http);
            }
            catch (Exception e) when (!http.Response.HasStarted)
            {
                await Answer(http, e, app.Logger);
            }
        });
        // The OpenAPI document (/openapi/v1.json) and an API reference page on it (/scalar/v1).
        app.MapOpenApi();
        // Scalar's script is served from this assembly; its default fonts would come from the internet: off.
        app.MapScalarApiReference(o => o.DisableDefaultFonts());
        SdApi.Map(app);
        ControlNetApi.Map(app);
        ControlHostApi.Map(app);
        JobsApi.Map(app);
        MapPage(app);
        return app;
    }

    /// <summary>The web page at / (index.html, app.js, app.css, embedded in this assembly).</summary>
    private static void MapPage(WebApplication app)
    {
        var assembly = typeof(ServerHost).Assembly;
        foreach (var (route, file, type) in new[] { ("/", "index.html", "text/html; charset=utf-8"), ("/app.js", "app.js", "text/javascript; charset=utf-8"), ("/app.css", "app.css", "text/css; charset=utf-8") })
        {
            using var stream = assembly.GetManifestResourceStream("web/" + file) ?? throw new InvalidOperationException($"web page file {file} is not embedded");
            using var reader = new StreamReader(stream);
            var content = reader.ReadToEnd();
            app.MapGet(route, () => Results.Text(content, type));
        }
    }

    private static bool Authorised(HttpContext http, ServerSettings settings) =>
        BasicCredentials.Of(http.Request) is { } given
        && settings.Auth.Any(a => FixedTimeEquals(a.User, given.User) & FixedTimeEquals(a.Password, given.Password));

    private static bool FixedTimeEquals(string a, string b) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    private static Task Refuse(HttpContext http)
    {
        http.Response.StatusCode = 401;
        http.Response.Headers.WWWAuthenticate = "Basic";
        return http.Response.WriteAsJsonAsync(new { detail = "Incorrect username or password" });
    }

    private static Task Answer(HttpContext http, Exception e, ILogger logger)
    {
        switch (e)
        {
            case ValidationException v:
                http.Response.StatusCode = 422;
                return http.Response.WriteAsJsonAsync(new { detail = v.Errors.Select(f => new { loc = f.Loc, msg = f.Msg, type = f.Type }) });
            case JobValidationException j:
                http.Response.StatusCode = 422;
                return http.Response.WriteAsJsonAsync(new { detail = j.Errors.Select(f => new { loc = new[] { "body" }.Concat(f.Path), msg = f.Message, type = "value_error" }) });
            case ServiceException { Kind: ErrorKind.BadInput or ErrorKind.NotFound } s:
                http.Response.StatusCode = 422;
                return http.Response.WriteAsJsonAsync(new
                {
                    detail = new[] { new { loc = new[] { "body", s.Field ?? "body" }, msg = s.Message, type = s.Kind == ErrorKind.NotFound ? "value_error.not_found" : "value_error" } },
                });
            case QueueFullException q:
                http.Response.StatusCode = 503;
                http.Response.Headers.RetryAfter = "5";
                return http.Response.WriteAsJsonAsync(new { error = "QueueFull", detail = q.Message, body = "", errors = "" });
            case NATS.Client.Core.NatsException n:
                // The cluster's broker is away (restarting, unreachable): nothing was lost; the client retries.
                logger.LogWarning("the job queue's broker: {Message}", n.Message);
                http.Response.StatusCode = 503;
                http.Response.Headers.RetryAfter = "5";
                return http.Response.WriteAsJsonAsync(new { error = "BrokerUnavailable", detail = $"the job queue's broker cannot be reached ({n.Message}); retry shortly", body = "", errors = "" });
            case ClientLimitException l:
                http.Response.StatusCode = 429;
                http.Response.Headers.RetryAfter = "5";
                return http.Response.WriteAsJsonAsync(new { error = "TooManyJobs", detail = l.Message, body = "", errors = "" });
            case JobFailedException { Status.Error: { Kind: "bad_input" or "not_found" } f }:
                http.Response.StatusCode = 422;
                return http.Response.WriteAsJsonAsync(new
                {
                    detail = f.Fields is { Count: > 0 } fields
                        ? fields.Select(x => new { loc = new[] { "body" }.Concat(x.Path).ToArray(), msg = x.Message, type = "value_error" }).ToArray()
                        : [new { loc = new[] { "body", f.Field ?? "body" }, msg = f.Message, type = f.Kind == "not_found" ? "value_error.not_found" : "value_error" }],
                });
            case JobFailedException { Status.State: JobState.Cancelled } c:
                http.Response.StatusCode = 409;
                return http.Response.WriteAsJsonAsync(new { error = "Cancelled", detail = c.Message, body = "", errors = "" });
            case JobFailedException f:
                logger.LogError("job {Id} failed: {Message}", f.Status.Id, f.Message);
                http.Response.StatusCode = 500;
                return http.Response.WriteAsJsonAsync(new { error = "JobFailed", detail = f.Message, body = "", errors = "" });
            case KeyNotFoundException k:
                http.Response.StatusCode = 404;
                return http.Response.WriteAsJsonAsync(new { detail = k.Message });
            case BadHttpRequestException b:
                http.Response.StatusCode = b.StatusCode;
                return http.Response.WriteAsJsonAsync(new { error = "BadRequest", detail = b.Message, body = "", errors = "" });
            case OperationCanceledException when http.RequestAborted.IsCancellationRequested:
                return Task.CompletedTask;
            default:
                logger.LogError(e, "internal fault on {Path}", http.Request.Path);
                http.Response.StatusCode = 500;
                return http.Response.WriteAsJsonAsync(new { error = e.GetType().Name, detail = e.Message, body = "", errors = "" });
        }
    }
}
