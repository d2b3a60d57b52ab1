using System.Text;

namespace ControlHost.Server;

/// <summary>The user and password of an HTTP Basic Authorization header: what --api-auth checks and what names a
/// client for its per-client limits and idempotency keys.</summary>
internal static class BasicCredentials
{
    /// <summary>The pair, or null when the header is absent, not Basic, not base64 or has no user.</summary>
    public static (string User, string Password)? Of(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return null;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }
        var i = decoded.IndexOf(':');
        return i > 0 ? (decoded[..i], decoded[(i + 1)..]) : null;
    }
}
