using System.Net;

namespace ControlHost.Server;

/// <summary>
/// Keeps web pages on other sites from driving the server through the user's browser, while A1111's API clients
/// (which send JSON and no Origin) work unchanged:
/// <list type="bullet">
/// <item>the Host header must be an IP address, localhost, or a name given with --allowed-hosts (a DNS-rebinding page
/// reaches the server under its own domain name);</item>
/// <item>a request carrying an Origin (browsers send one with every cross-site POST) must come from the server's own
/// origin or one named with --cors-allow-origins;</item>
/// <item>a POST with a body must say it is JSON (application/json): the bodies browsers send across sites without asking
/// first (text/plain, form encodings) are refused.</item>
/// </list>
/// Each refusal is JSON naming the problem and the option that allows it.
/// </summary>
internal static class CrossSiteGuard
{
    public static async Task Check(HttpContext http, ServerSettings settings, Func<Task> next)
    {
        var host = http.Request.Host.Host;
        if (!HostAllowed(host, settings))
        {
            await Refuse(http, 400, $"Host '{host}' is not this server's address; call it by IP address or localhost, or allow the name with --allowed-hosts {host}");
            return;
        }
        var origin = http.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !OriginAllowed(origin, http, settings))
        {
            await Refuse(http, 403, $"requests from the web page at {origin} are not allowed (cross-site); allow that origin with --cors-allow-origins {origin}");
            return;
        }
        if (HttpMethods.IsPost(http.Request.Method) && HasBody(http.Request) && !IsJson(http.Request.ContentType))
        {
            await Refuse(http, 415, $"the request body is '{http.Request.ContentType ?? "(no Content-Type)"}'; send JSON with Content-Type: application/json");
            return;
        }
        await next();
    }

    private static bool HostAllowed(string host, ServerSettings settings) =>
        host.Length == 0 || IPAddress.TryParse(host.Trim('[', ']'), out _)
        || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
        || settings.AllowedHosts.Any(h => string.Equals(h, host, StringComparison.OrdinalIgnoreCase));

    private static bool OriginAllowed(string origin, HttpContext http, ServerSettings settings)
    {
        if (settings.CorsOrigins.Any(o => string.Equals(o.TrimEnd('/'), origin.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))) return true;
        // same origin: the page the server itself serves
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals($"{uri.Host}:{uri.Port}", $"{http.Request.Host.Host}:{http.Request.Host.Port ?? (http.Request.IsHttps ? 443 : 80)}", StringComparison.OrdinalIgnoreCase);
    }

    private static bool HasBody(HttpRequest r) => r.ContentLength is > 0 || (r.ContentLength is null && r.Headers.TransferEncoding.Count > 0);

    private static bool IsJson(string? contentType) =>
        contentType is not null && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
                                    || contentType.Contains("+json", StringComparison.OrdinalIgnoreCase));

    private static Task Refuse(HttpContext http, int status, string message)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsJsonAsync(new { detail = message });
    }
}
