using ControlHost.Abstractions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;

namespace ControlHost.Engine.Imaging;

/// <summary>PNG files with A1111's "parameters" text chunk, written atomically.</summary>
public static class PngParameters
{
    public const string Keyword = "parameters";

    /// <summary>
    /// Writes a PNG with the infotext to a temporary file beside <paramref name="path"/> and moves it into place,
    /// so a failure never leaves a half-written file at the destination.
    /// </summary>
    public static void Save(RgbImage rgb, string path, string? parameters)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"output folder '{dir}' does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = File.Create(temp))
                Encode(rgb, parameters, stream);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    public static void Encode(RgbImage rgb, string? parameters, Stream stream)
    {
        using var image = ImageIo.ToImage(rgb);
        if (parameters is not null)
            image.Metadata.GetPngMetadata().TextData.Add(new PngTextData(Keyword, parameters, string.Empty, string.Empty));
        image.SaveAsPng(stream, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
    }

    /// <summary>The "parameters" text of a PNG, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">Not a readable PNG.</exception>
    public static string? Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' not found");
        try
        {
            using var stream = File.OpenRead(path);
            var info = Image.Identify(stream) ?? throw new InvalidDataException($"'{path}' is not an image");
            var png = info.Metadata.GetPngMetadata();
            return png.TextData.FirstOrDefault(t => t.Keyword == Keyword).Value;
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException)
        {
            throw new InvalidDataException($"'{path}': not a readable image ({e.Message})");
        }
    }
}
