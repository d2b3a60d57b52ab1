using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace ControlHost.Application.Jobs;

/// <summary>
/// An image in a job document: by value (the encoded file's bytes, written as base64) or by content hash
/// ("sha256:HEX", the bytes kept in a <see cref="IBlobStore"/>). Never a path: a job runs wherever a worker is, and a
/// path names a file on the machine that submitted it.
/// </summary>
[JsonConverter(typeof(ImageRefConverter))]
public sealed record ImageRef
{
    private ImageRef(string? sha256, byte[]? data)
    {
        Sha256 = sha256;
        Data = data;
    }

    public const string HashPrefix = "sha256:";

    /// <summary>The content hash (lower-case hex) when given by hash; null for a value not yet hashed.</summary>
    public string? Sha256 { get; }

    /// <summary>The encoded bytes when given by value.</summary>
    public byte[]? Data { get; }

    public static ImageRef ByValue(byte[] data, string? name = null) => new(null, data) { Name = name };

    /// <summary>Where the caller's bytes came from (a file's name), for its messages only: not part of the document.</summary>
    public string? Name { get; private init; }

    public static ImageRef ByHash(string sha256) => new(sha256.ToLowerInvariant(), null);

    /// <summary>The content hash, computed from the bytes of a value.</summary>
    public string Hash => Sha256 ?? HashOf(Data!);

    public static string HashOf(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>True for a well-formed hash: 64 hex digits.</summary>
    public static bool IsHash(string text) => text.Length == 64 && text.All(Uri.IsHexDigit);

    /// <summary>Reads the text form: "sha256:HEX", base64, or a base64 data URL.</summary>
    /// <exception cref="FormatException">Neither form; the message says which forms are read.</exception>
    public static ImageRef Parse(string text)
    {
        text = text.Trim();
        if (text.StartsWith(HashPrefix, StringComparison.OrdinalIgnoreCase))
        {
            var hex = text[HashPrefix.Length..];
            return IsHash(hex) ? ByHash(hex) : throw new FormatException($"'{Clip(text)}' is not sha256: followed by 64 hex digits");
        }
        if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var comma = text.IndexOf(',');
            if (comma < 0 || !text[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                throw new FormatException("a data URL must be base64 (data:image/png;base64,...)");
            text = text[(comma + 1)..];
        }
        try
        {
            var bytes = Convert.FromBase64String(text);
            return bytes.Length > 0 ? ByValue(bytes) : throw new FormatException("an empty image");
        }
        catch (FormatException)
        {
            throw new FormatException($"'{Clip(text)}' is neither sha256:HEX nor an image file's bytes in base64");
        }
    }

    private static string Clip(string text) => text.Length > 40 ? text[..40] + "..." : text;

    public override string ToString() => Sha256 is not null ? HashPrefix + Sha256 : Convert.ToBase64String(Data!);

    public bool Equals(ImageRef? other) => other is not null && Hash == other.Hash;

    public override int GetHashCode() => Hash.GetHashCode(StringComparison.Ordinal);
}

internal sealed class ImageRefConverter : JsonConverter<ImageRef>
{
    public override ImageRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String) throw new JsonException("an image is a string: \"sha256:HEX\" or the file's bytes in base64");
        try
        {
            return ImageRef.Parse(reader.GetString()!);
        }
        catch (FormatException e)
        {
            throw new JsonException(e.Message, e);
        }
    }

    public override void Write(Utf8JsonWriter writer, ImageRef value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
}
