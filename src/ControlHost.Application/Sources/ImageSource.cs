using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Sources;

/// <summary>
/// Where an image comes from: a file path, encoded bytes, or base64 text (with or without a data: URL prefix, as
/// A1111 clients send). Every kind goes through the same header check before anything is decoded.
/// </summary>
public abstract record ImageSource
{
    private ImageSource() { }

    public static ImageSource FromPath(string path) => new PathSource(path);
    public static ImageSource FromBytes(byte[] bytes, string label = "image") => new BytesSource(bytes, label);
    public static ImageSource FromBase64(string text, string label = "image") => new Base64Source(text, label);

    /// <summary>An image already decoded by the caller (tests, the evaluator, operations that crop and fit).</summary>
    public static ImageSource FromImage(RgbImage image, string label = "image") => new DecodedSource(image, label);

    /// <summary>An in-memory image is a source as it is (for in-process callers).</summary>
    public static implicit operator ImageSource(RgbImage image) => FromImage(image);

    /// <summary>What the source is, for messages: a path or a label.</summary>
    public abstract string Label { get; }

    /// <summary>The file path of a path source, else null (what a record of a job can name again).</summary>
    public string? FilePath => this is PathSource p ? p.Path : null;

    /// <summary>True when this is an OpenPose JSON document rather than an image (a .json path, or text starting with '{').</summary>
    public bool IsOpenPoseJson(PathPolicy policy) => this switch
    {
        PathSource p => p.Path.EndsWith(".json", StringComparison.OrdinalIgnoreCase),
        DecodedSource => false,
        _ => Bytes(policy, "image") is { Length: > 0 } b && b[0] == (byte)'{',
    };

    /// <summary>An OpenPose JSON source rendered into the pose hint the pose ControlNet takes, at its canvas size.</summary>
    /// <exception cref="BadInputException">Missing or not allowed.</exception>
    public RgbImage RenderOpenPose(PathPolicy policy, string field, ImageBudget? budget = null)
    {
        Preprocessors.PoseDocument pose;
        try
        {
            pose = Preprocessors.OpenPose.Parse(System.Text.Encoding.UTF8.GetString(Bytes(policy, field)), Label);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidDataException or System.Text.Json.JsonException)
        {
            throw new BadInputException(field, $"{field}: not an OpenPose JSON document this host reads: {e.Message}", e);
        }
        (budget ?? ImageBudget.Default).CheckWork(pose.CanvasWidth, pose.CanvasHeight, field, "the OpenPose canvas");
        return Preprocessors.OpenPose.Render(pose, pose.CanvasWidth, pose.CanvasHeight);
    }

    /// <summary>Decodes the image; <paramref name="field"/> names it in errors ("init_images", "units[1].image").</summary>
    /// <exception cref="BadInputException">Missing, not allowed, not decodable or too large.</exception>
    public RgbImage Load(PathPolicy policy, string field, ImageBudget? budget = null)
    {
        budget ??= ImageBudget.Default;
        if (this is DecodedSource decoded)
        {
            budget.CheckInput(decoded.Image.Width, decoded.Image.Height, field);
            return decoded.Image;
        }
        var bytes = Bytes(policy, field);
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            var (width, height) = ImageIo.Identify(stream, Label);
            budget.CheckInput(width, height, field);
            return ImageIo.Decode(stream, Label, budget.MaxInputPixels);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            throw new BadInputException(field, $"{field}: {e.Message}", e);
        }
    }

    /// <summary>The encoded bytes (an image file, or OpenPose JSON text).</summary>
    public byte[] Bytes(PathPolicy policy, string field)
    {
        switch (this)
        {
            case PathSource p:
                policy.CheckPath(field, p.Path);
                if (!File.Exists(p.Path)) throw new BadInputException(field, $"{field}: '{p.Path}' not found");
                try
                {
                    return File.ReadAllBytes(p.Path);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new BadInputException(field, $"{field}: '{p.Path}' cannot be read: {e.Message}", e);
                }
            case BytesSource b:
                return b.Data;
            case DecodedSource d:
                using (var png = new MemoryStream())
                {
                    PngParameters.Encode(d.Image, null, png);
                    return png.ToArray();
                }
            case Base64Source t:
                var text = t.Text.Trim();
                // A data URL: "data:image/png;base64,...."
                if (text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
                {
                    var comma = text.IndexOf(',');
                    if (comma < 0 || !text[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                        throw new BadInputException(field, $"{field}: a data URL must be base64 (data:image/png;base64,...)");
                    text = text[(comma + 1)..];
                }
                try
                {
                    return Convert.FromBase64String(text);
                }
                catch (FormatException)
                {
                    throw new BadInputException(field, $"{field}: not valid base64 (send the image file's bytes in base64, optionally as a data: URL)");
                }
            default:
                throw new InvalidOperationException("unknown image source");
        }
    }

    private sealed record PathSource(string Path) : ImageSource
    {
        public override string Label => Path;
    }

    private sealed record BytesSource(byte[] Data, string Name) : ImageSource
    {
        public override string Label => Name;
    }

    private sealed record DecodedSource(RgbImage Image, string Name) : ImageSource
    {
        public override string Label => Name;
    }

    private sealed record Base64Source(string Text, string Name) : ImageSource
    {
        public override string Label => Name;
    }
}
