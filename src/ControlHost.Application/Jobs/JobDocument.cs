using System.Text.Json;
using System.Text.Json.Serialization;
using ControlHost.Application.Names;

namespace ControlHost.Application.Jobs;

/// <summary>
/// A job as data: one versioned JSON document for each operation, the same whether it came from the CLI, an A1111
/// route, ControlHost's own routes or the web page, and whether it runs in this process or on a worker elsewhere.
/// Exactly one of <see cref="Generate"/>, <see cref="Place"/> and <see cref="Detect"/> is given. Images travel by
/// value or by content hash (<see cref="ImageRef"/>).
/// </summary>
public sealed record JobDocument
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;
    public GenerateDocument? Generate { get; init; }
    public PlaceDocument? Place { get; init; }
    public DetectDocument? Detect { get; init; }

    /// <summary>"generate", "place" or "detect".</summary>
    [JsonIgnore]
    public string Operation => Generate is not null ? "generate" : Place is not null ? "place" : Detect is not null ? "detect" : "none";

    /// <summary>The model the job runs on (null: the worker's default; detect runs none): what routes it to a worker
    /// that has it loaded.</summary>
    [JsonIgnore]
    public string? Model => Generate?.Model ?? Place?.Model;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, MaxDepth = 32,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>Reads and checks a document: every field problem at once.</summary>
    /// <exception cref="JobValidationException">Not a job document, or fields out of range; each error names its field.</exception>
    public static JobDocument Parse(ReadOnlySpan<byte> utf8, JobLimits? limits = null)
    {
        JobDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<JobDocument>(utf8, Json);
        }
        catch (JsonException e)
        {
            var path = (e.Path ?? "$").TrimStart('$').TrimStart('.').Split('.', StringSplitOptions.RemoveEmptyEntries);
            throw new JobValidationException([new JobFieldError(path.Length == 0 ? ["body"] : path, $"not a job document this host reads: {e.Message}")]);
        }
        if (document is null) throw new JobValidationException([new JobFieldError(["body"], "a job document is a JSON object")]);
        document.Validate(limits);
        return document;
    }

    public static JobDocument Parse(string json, JobLimits? limits = null) => Parse(System.Text.Encoding.UTF8.GetBytes(json), limits);

    /// <summary>Checks every field of the document.</summary>
    /// <exception cref="JobValidationException">Each problem, with its field.</exception>
    public void Validate(JobLimits? limits = null)
    {
        limits ??= JobLimits.None;
        var errors = new JobErrors();
        if (Version != CurrentVersion) errors.Add("version", $"job document version {Version}; this host reads version {CurrentVersion}");
        var given = new object?[] { Generate, Place, Detect }.Count(o => o is not null);
        if (given != 1) errors.Add("generate", $"a job document gives exactly one of generate, place and detect ({given} given)");
        Generate?.Validate(errors.At("generate"), limits);
        Place?.Validate(errors.At("place"), limits);
        Detect?.Validate(errors.At("detect"));
        errors.ThrowIfAny();
    }

    /// <summary>Every image the document names, with its field.</summary>
    public IEnumerable<(string Field, ImageRef Image)> Images()
    {
        var found = new List<(string, ImageRef)>();
        MapImages((image, field) =>
        {
            found.Add((field, image));
            return image;
        });
        return found;
    }

    public JobDocument MapImages(Func<ImageRef, ImageRef> map) => MapImages((i, _) => map(i));

    /// <summary>The same document with every image replaced by <paramref name="map"/>'s (by value, by hash).</summary>
    public JobDocument MapImages(Func<ImageRef, string, ImageRef> map)
    {
        ImageRef? One(ImageRef? i, string field) => i is null ? null : map(i, field);
        List<UnitDocument>? Units(List<UnitDocument>? units, string at) => units?.Select((u, k) =>
            u with { Image = One(u.Image, $"{at}[{k}].image"), Mask = One(u.Mask, $"{at}[{k}].mask") }).ToList();
        return this with
        {
            Generate = Generate is not { } g ? null : g with
            {
                InitImage = One(g.InitImage, "generate.init_image"), Mask = One(g.Mask, "generate.mask"),
                Inpaint = g.Inpaint is { } p ? p with { Mask = One(p.Mask, "generate.inpaint.mask") } : null,
                Units = Units(g.Units, "generate.units"),
            },
            Place = Place is not { } pl ? null : pl with
            {
                Background = One(pl.Background, "place.background"),
                Boxes = pl.Boxes?.Select((b, k) => b with { Units = Units(b.Units, $"place.boxes[{k}].units") }).ToList(),
            },
            Detect = Detect is not { } d ? null : d with { Image = One(d.Image, "detect.image") },
        };
    }
}

/// <summary>The server's bounds on one job (the CLI sets none).</summary>
public sealed record JobLimits(int MaxSide, int MaxSteps, int MaxImages, int MaxUnits, int MaxPromptChars, int MaxBoxes)
{
    public static readonly JobLimits None = new(16384, 10000, 10000, 64, int.MaxValue, 256);
}

/// <summary>A LoRA by name with its weight.</summary>
public sealed record LoraDocument(string Name, double Weight = 1);

/// <summary>A1111's inpainting fields: the region (mask image, box "x,y,w,h" or polygon) and how it is filled.</summary>
public sealed record InpaintDocument
{
    public ImageRef? Mask { get; init; }
    public string? Box { get; init; }
    public List<double[]>? Polygon { get; init; }
    public double? MaskBlur { get; init; }
    public int Feather { get; init; }
    public bool Invert { get; init; }

    /// <summary>"fill", "original", "latent noise" or "latent nothing".</summary>
    public string? Content { get; init; }
    public bool OnlyMasked { get; init; }
    public int? Padding { get; init; }

    public void Validate(JobErrors errors)
    {
        if (Box is not null && !PixelBoxText.TryParse(Box)) errors.Add("box", $"'{Box}' is not x,y,width,height in pixels");
        if (Polygon is not null && (Polygon.Count < 3 || Polygon.Any(p => p.Length != 2 || !p.All(double.IsFinite))))
            errors.Add("polygon", "a polygon is at least 3 [x, y] points");
        errors.Range("mask_blur", MaskBlur, 0, 256);
        errors.Range("feather", Feather, 0, 256);
        errors.Range("padding", Padding, 0, 4096);
        if (Content is not null && InpaintNames.TryParseContent(Content) is null) errors.Add("content", $"'{Content}': fill, original, latent noise or latent nothing");
    }
}

/// <summary>A1111's hires fix.</summary>
public sealed record HiresDocument
{
    public double Scale { get; init; } = 2;
    public int? ResizeX { get; init; }
    public int? ResizeY { get; init; }
    public string Upscaler { get; init; } = Generation.HiresSpec.DefaultUpscaler;
    public int? Steps { get; init; }
    public double? Strength { get; init; }
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public string? Sampler { get; init; }

    public void Validate(JobErrors errors, JobLimits limits)
    {
        errors.Range("scale", Scale, 1, 4);
        errors.Range("resize_x", ResizeX, 0, limits.MaxSide * 4);
        errors.Range("resize_y", ResizeY, 0, limits.MaxSide * 4);
        errors.Range("steps", Steps, 0, limits.MaxSteps, "the server's max-steps");
        errors.Range("strength", Strength, 0, 1);
        if (Sampler is not null && SamplerNames.TryParse(Sampler) is null) errors.Add("sampler", $"unknown sampler '{Sampler}' (known: {string.Join(", ", SamplerNames.Names)})");
    }
}

/// <summary>A generation (txt2img, img2img, inpainting) in A1111's names; a value left null takes the policy's default.</summary>
public sealed record GenerateDocument
{
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Steps { get; init; }
    public double? CfgScale { get; init; }
    public string? Sampler { get; init; }

    /// <summary>0..4294967295, or -1 for a random one.</summary>
    public long? Seed { get; init; }
    public int? BatchSize { get; init; }
    public int? NIter { get; init; }
    public string? Model { get; init; }
    public ImageRef? InitImage { get; init; }
    public ImageRef? Mask { get; init; }
    public InpaintDocument? Inpaint { get; init; }
    public double? Strength { get; init; }
    public HiresDocument? Hires { get; init; }
    public List<UnitDocument>? Units { get; init; }
    public List<LoraDocument>? Loras { get; init; }

    /// <summary>Decode a preview every this many steps (0: none).</summary>
    public int PreviewEvery { get; init; }

    public void Validate(JobErrors errors, JobLimits limits)
    {
        if (Prompt is { Length: var p } && p > limits.MaxPromptChars) errors.Add("prompt", $"{p} characters; the limit is {limits.MaxPromptChars}");
        if (NegativePrompt is { Length: var n } && n > limits.MaxPromptChars) errors.Add("negative_prompt", $"{n} characters; the limit is {limits.MaxPromptChars}");
        foreach (var (field, side) in new[] { ("width", Width), ("height", Height) })
        {
            errors.Range(field, side, 64, limits.MaxSide, "the server's max-side");
            if (side is { } s && s % 8 != 0) errors.Add(field, $"{field} {s} must be a multiple of 8");
        }
        errors.Range("steps", Steps, 1, limits.MaxSteps, "the server's max-steps");
        errors.Range("cfg_scale", CfgScale, 0, 100);
        if (Sampler is not null && SamplerNames.TryParse(Sampler) is null) errors.Add("sampler", $"unknown sampler '{Sampler}' (known: {string.Join(", ", SamplerNames.Names)})");
        errors.Range("seed", Seed, -1, uint.MaxValue);
        errors.Range("batch_size", BatchSize, 1, limits.MaxImages);
        errors.Range("n_iter", NIter, 1, limits.MaxImages);
        if ((BatchSize ?? 1) * (long)(NIter ?? 1) > limits.MaxImages) errors.Add("n_iter", $"batch_size x n_iter = {(BatchSize ?? 1) * (long)(NIter ?? 1)} images; the limit is {limits.MaxImages}");
        errors.Range("strength", Strength, 0, 1);
        errors.Range("preview_every", PreviewEvery, 0, 10000);
        if (Mask is not null && InitImage is null) errors.Add("mask", "a mask needs the init image it applies to (init_image)");
        if (Inpaint is not null && InitImage is null) errors.Add("inpaint", "inpainting needs an init image (init_image)");
        Inpaint?.Validate(errors.At("inpaint"));
        if (Hires is not null && InitImage is not null) errors.Add("hires", "the hires fix is for txt2img (no init_image)");
        Hires?.Validate(errors.At("hires"), limits);
        var units = Units ?? [];
        if (units.Count > limits.MaxUnits) errors.Add("units", $"{units.Count} units; the limit is {limits.MaxUnits}");
        for (var i = 0; i < units.Count; i++) units[i].Validate(errors.At("units", i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        for (var i = 0; i < (Loras?.Count ?? 0); i++)
        {
            var l = Loras![i];
            var at = errors.At("loras", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (string.IsNullOrWhiteSpace(l.Name)) at.Add("name", "required: the LoRA's name");
            at.Range("weight", l.Weight, -10, 10);
        }
    }
}

/// <summary>One box of a placement, with its own prompt and units.</summary>
public sealed record BoxDocument
{
    /// <summary>"x,y,width,height" in the background's pixels.</summary>
    public string Box { get; init; } = "";
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public List<UnitDocument>? Units { get; init; }
}

/// <summary>Box placement: objects generated inside boxes on a background, everything outside unchanged.</summary>
public sealed record PlaceDocument
{
    public ImageRef? Background { get; init; }
    public List<BoxDocument>? Boxes { get; init; }
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public int? Steps { get; init; }
    public double? CfgScale { get; init; }
    public string? Sampler { get; init; }
    public long? Seed { get; init; }
    public string? Model { get; init; }
    public int? Width { get; init; }
    public int? Height { get; init; }
    public int Padding { get; init; } = Placement.PlacementJob.DefaultPadding;
    public int Feather { get; init; } = Placement.PlacementJob.DefaultFeather;

    /// <summary>"off", "reinhard" or "poisson".</summary>
    public string Harmonize { get; init; } = "off";
    public string? Content { get; init; }
    public double? Strength { get; init; }
    public bool AllowOverlap { get; init; }
    public int PreviewEvery { get; init; }

    public void Validate(JobErrors errors, JobLimits limits)
    {
        if (Background is null) errors.Add("background", "required: the background image");
        var boxes = Boxes ?? [];
        if (boxes.Count == 0) errors.Add("boxes", "at least one box");
        if (boxes.Count > limits.MaxBoxes) errors.Add("boxes", $"{boxes.Count} boxes; the limit is {limits.MaxBoxes}");
        for (var i = 0; i < boxes.Count; i++)
        {
            var at = errors.At("boxes", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (!PixelBoxText.TryParse(boxes[i].Box)) at.Add("box", $"'{boxes[i].Box}' is not x,y,width,height in pixels");
            var units = boxes[i].Units ?? [];
            if (units.Count > limits.MaxUnits) at.Add("units", $"{units.Count} units; the limit is {limits.MaxUnits}");
            for (var k = 0; k < units.Count; k++) units[k].Validate(at.At("units", k.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        errors.Range("steps", Steps, 1, limits.MaxSteps, "the server's max-steps");
        errors.Range("cfg_scale", CfgScale, 0, 100);
        if (Sampler is not null && SamplerNames.TryParse(Sampler) is null) errors.Add("sampler", $"unknown sampler '{Sampler}'");
        errors.Range("seed", Seed, -1, uint.MaxValue);
        errors.Range("width", Width, 64, limits.MaxSide);
        errors.Range("height", Height, 64, limits.MaxSide);
        errors.Range("padding", Padding, 0, 4096);
        errors.Range("feather", Feather, 0, 256);
        errors.Range("strength", Strength, 0, 1);
        if (!Enum.TryParse<Placement.Harmonization>(Harmonize, ignoreCase: true, out _)) errors.Add("harmonize", $"'{Harmonize}': off, reinhard or poisson");
        if (Content is not null && InpaintNames.TryParseContent(Content) is null) errors.Add("content", $"'{Content}': fill, original, latent noise or latent nothing");
    }
}

/// <summary>A preprocessor run on one image: its hint (the extension's /controlnet/detect).</summary>
public sealed record DetectDocument
{
    public string Module { get; init; } = "";
    public ImageRef? Image { get; init; }
    public Dictionary<string, string>? Options { get; init; }

    public void Validate(JobErrors errors)
    {
        if (string.IsNullOrWhiteSpace(Module)) errors.Add("module", "required: a module name (see 'controlhost modules')");
        if (Image is null) errors.Add("image", "required: the image (sha256:HEX or base64)");
    }
}

internal static class PixelBoxText
{
    public static bool TryParse(string text)
    {
        try
        {
            _ = Inpainting.PixelBox.Parse(text);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            return false;
        }
    }
}
