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
    public static void Save(RgbImage rgb, string path, string? parameters, IReadOnlyDictionary<string, string>? extra = null)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"output folder '{dir}' does not exist");
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = File.Create(temp))
                Encode(rgb, parameters, stream, extra);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    /// <param name="extra">More text chunks by keyword (box placement records its job in one).</param>
    public static void Encode(RgbImage rgb, string? parameters, Stream stream, IReadOnlyDictionary<string, string>? extra = null)
    {
        using var image = ImageIo.ToImage(rgb);
        var text = image.Metadata.GetPngMetadata().TextData;
        if (parameters is not null) text.Add(new PngTextData(Keyword, parameters, string.Empty, string.Empty));
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
            text.Add(new PngTextData(key, value, string.Empty, string.Empty));
        image.SaveAsPng(stream, new PngEncoder { ColorType = PngColorType.Rgb, BitDepth = PngBitDepth.Bit8 });
    }

    /// <summary>A text chunk of an encoded PNG (the "parameters" one by default), or null when it has none.</summary>
    /// <exception cref="InvalidDataException">Not a readable image.</exception>
    public static string? ReadText(Stream stream, string label, string keyword = Keyword)
    {
        try
        {
            var info = Image.Identify(stream) ?? throw new InvalidDataException($"{label} is not an image");
            return info.Metadata.GetPngMetadata().TextData.FirstOrDefault(t => t.Keyword == keyword).Value;
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException)
        {
            throw new InvalidDataException($"{label}: not a readable image ({e.Message})");
        }
    }

    /// <summary>The "parameters" text of a PNG, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">Not a readable PNG.</exception>
    public static string? Read(string path, string keyword = Keyword)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' not found");
        try
        {
            using var stream = File.OpenRead(path);
            var info = Image.Identify(stream) ?? throw new InvalidDataException($"'{path}' is not an image");
            var png = info.Metadata.GetPngMetadata();
            return png.TextData.FirstOrDefault(t => t.Keyword == keyword).Value;
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or ImageFormatException)
        {
            throw new InvalidDataException($"'{path}': not a readable image ({e.Message})");
        }
    }
}
