using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;

namespace ControlHost.Server.Api;

internal static class Pngs
{
    /// <summary>A PNG as raw base64, no data: prefix (what A1111 returns), with the infotext when given.</summary>
    public static string Base64(RgbImage image, string? parameters = null)
    {
        using var ms = new MemoryStream();
        PngParameters.Encode(image, parameters, ms);
        return Convert.ToBase64String(ms.ToArray());
    }
}
