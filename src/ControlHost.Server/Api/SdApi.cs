using System.Text.Json;
using System.Text.Json.Nodes;
using ControlHost.Application.Detection;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Engine.Imaging;

namespace ControlHost.Server.Api;

/// <summary>A1111's /sdapi/v1 routes over the generation service (../shared/a1111-api.md).</summary>
internal static class SdApi
{
    public static void Map(WebApplication app)
    {
        var sd = app.MapGroup("/sdapi/v1");
        sd.MapPost("/txt2img", (HttpRequest r, ServerContext c, CancellationToken ct) => Generate(r, c, img2img: false, ct))
            .Accepts<Schemas.StableDiffusionProcessingTxt2Img>("application/json").Produces<Schemas.TextToImageResponse>();
        sd.MapPost("/img2img", (HttpRequest r, ServerContext c, CancellationToken ct) => Generate(r, c, img2img: true, ct))
            .Accepts<Schemas.StableDiffusionProcessingImg2Img>("application/json").Produces<Schemas.ImageToImageResponse>();
        sd.MapGet("/samplers", () => SamplerNames.Names.Select(n => new { name = n, aliases = SamplerNames.AliasesOf(n), options = new { } }));
        sd.MapGet("/sd-models", (ServerContext c) => c.Service.Catalog.Models.Select(Checkpoint).Concat(c.Service.Catalog.Files.Checkpoints.Select(CheckpointFile)));
        // A1111's extra-network lists: names and metadata, never server paths.
        sd.MapGet("/loras", (ServerContext c) => c.Service.Catalog.Files.Loras.Select(f => new
        {
            name = Path.GetFileNameWithoutExtension(f), alias = Path.GetFileNameWithoutExtension(f), path = Path.GetFileName(f), metadata = LoraMetadata(f),
        }));
        sd.MapGet("/embeddings", (ServerContext c) => Embeddings(c));
        sd.MapGet("/options", (ServerContext c) => Options(c));
        sd.MapPost("/options", async (HttpRequest r, ServerContext c) =>
        {
            var body = new Body(await ReadJson(r), []);
            if (body.Str("sd_model_checkpoint") is { } title)
            {
                var name = title.Contains(" [") ? title[..title.IndexOf(" [", StringComparison.Ordinal)] : title;
                var folder = c.Service.ResolveModel(name); // 422 naming the models found, when unknown
                // The chosen checkpoint serves every later request; an inpainting UNet (9 input channels) cannot do txt2img.
                if (Engine.Models.ModelCatalog.IsInpainting(folder.Root))
                    throw ValidationException.One("sd_model_checkpoint",
                        $"'{name}' is an inpainting model (a 9-channel UNet): it cannot serve txt2img; choose a txt2img checkpoint, and name the inpainting model per request with override_settings for img2img with a mask",
                        "value_error");
                c.Checkpoint = name;
            }
            body.ThrowIfInvalid();
            return SdApi.JsonNull();
        }).Accepts<Schemas.OptionsRequest>("application/json");
        sd.MapGet("/progress", (ServerContext c) => Progress(c)).Produces<Schemas.ProgressResponse>();
        SdExtraRoutes.Map(sd);
        sd.MapPost("/interrupt", async (ServerContext c) =>
        {
            await c.Jobs.InterruptAsync();
            return Results.Json(new { });
        });
        sd.MapPost("/skip", async (ServerContext c) =>
        {
            await c.Jobs.SkipAsync();
            return SdApi.JsonNull();
        });
        sd.MapPost("/png-info", async (HttpRequest r) =>
        {
            var body = new Body(await ReadJson(r), []);
            var image = body.Str("image");
            if (image is null) throw ValidationException.One("image", "field required: a base64 PNG", "value_error.missing");
            var bytes = ImageSource.FromBase64(image, "image").Bytes(PathPolicy.NamesOnly, "image");
            using var stream = new MemoryStream(bytes);
            string text;
            try
            {
                text = PngParameters.ReadText(stream, "image") ?? "";
            }
            catch (InvalidDataException e)
            {
                throw ValidationException.One("image", e.Message, "value_error.image");
            }
            var parameters = text.Length == 0 ? new Dictionary<string, string>() : Infotext.ParseParameters(text);
            if (text.Length > 0)
            {
                var (prompt, negative, _) = Infotext.Parse(text);
                parameters["Prompt"] = prompt;
                parameters["Negative prompt"] = negative;
            }
            return Results.Json(new { info = text, items = text.Length == 0 ? new Dictionary<string, string>() : new() { ["parameters"] = text }, parameters });
        }).Accepts<Schemas.PNGInfoRequest>("application/json").Produces<Schemas.PNGInfoResponse>();
    }

    /// <summary>A JSON null body, as A1111 answers POST options, skip and refresh (Results.Json(null) writes no body at all,
    /// and clients that decode the answer raise on an empty one).</summary>
    public static IResult JsonNull() => Results.Content("null", "application/json");

    public static async Task<JsonElement> ReadJson(HttpRequest request)
    {
        try
        {
            using var doc = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 32 });
            var root = doc.RootElement.Clone();
            RequireValidText(root, ["body"]);
            return root;
        }
        catch (JsonException e)
        {
            throw new ValidationException([new FieldError(["body"], $"the body is not valid JSON: {e.Message}", "value_error.jsondecode")]);
        }
    }

    /// <summary>
    /// Every string and property name in the body must be text: JSON allows a lone surrogate escape ("\ud800") and the
    /// parser passes invalid UTF-8 bytes inside strings, which only fail when read. Checked once here, a 422 naming where.
    /// </summary>
    private static void RequireValidText(JsonElement e, List<string> path)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                try { _ = e.GetString(); }
                catch (InvalidOperationException)
                {
                    throw new ValidationException([new FieldError(path.ToArray(), "this string is not valid text (invalid UTF-8, or a lone surrogate such as \\ud800); send UTF-8 text", "value_error.str.encoding")]);
                }
                break;
            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    try { _ = p.Name; }
                    catch (InvalidOperationException)
                    {
                        throw new ValidationException([new FieldError(path.ToArray(), "a property name is not valid text; send UTF-8 text", "value_error.str.encoding")]);
                    }
                    RequireValidText(p.Value, [.. path, p.Name]);
                }
                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in e.EnumerateArray()) RequireValidText(item, [.. path, (i++).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                break;
        }
    }

    private static async Task<IResult> Generate(HttpRequest http, ServerContext context, bool img2img, CancellationToken cancellation)
    {
        var root = await ReadJson(http);
        var request = SdRequests.Read(root, img2img, context);
        // The extension logs what it falls back from; so does the server (the same lines go into info.warnings).
        var log = http.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("ControlNet");
        foreach (var warning in request.Warnings.Where(w => w.StartsWith('['))) log.LogWarning("{Warning}", warning);
        var job = request.Job with { Model = request.Job.Model ?? context.Checkpoint, PreviewEvery = 5 };
        // The request becomes a job document (its images by value) and runs on the queue like any other job.
        var document = new Application.Jobs.JobDocument { Generate = Application.Jobs.JobMapping.FromJob(job, Application.Jobs.JobMapping.ByValue(context.Service.Paths)) };
        var result = await JobCalls.RunAsync(http.HttpContext, context, document, img2img ? "img2img" : "txt2img", cancellation);
        var images = new List<string>();
        if (request.SendImages)
        {
            foreach (var image in result.Images) images.Add(JobCalls.Base64(image.Png));
            // After the generated images, the extension returns the detected map of each unit it preprocessed (unless
            // save_detected_map is false): here the very hint the generation used.
            images.AddRange(result.DetectedMaps.Select(JobCalls.Base64));
        }
        var parameters = JsonNode.Parse(root.GetRawText())!.AsObject();
        if (img2img && !(root.TryGetProperty("include_init_images", out var inc) && inc.ValueKind == JsonValueKind.True))
        {
            parameters["init_images"] = null;
            parameters["mask"] = null;
        }
        return Results.Json(new { images, parameters, info = JsonSerializer.Serialize(Info(result, request.Warnings)) });
    }

    /// <summary>A1111's info object, for every image of the job, formatted from the values it ran with.</summary>
    private static Dictionary<string, object?> Info(Application.Jobs.JobResult result, List<string> warnings)
    {
        var ran = result.Parameters.Generate!;
        var seeds = result.Images.Select(i => i.Seed).ToList();
        var prompt = ran.Prompt ?? "";
        var negative = ran.NegativePrompt ?? "";
        var infotext = result.Images.FirstOrDefault()?.Infotext ?? "";
        // The extension's and inpainting's own fields are A1111's infotext pairs: read from the text they were written to.
        var p = infotext.Length > 0 ? Infotext.ParseParameters(infotext) : new Dictionary<string, string>();
        var (width, height) = result.Images.Count > 0 ? PngSize(result.Images[0].Png) : (ran.Width, ran.Height);
        return new Dictionary<string, object?>
        {
            ["prompt"] = prompt, ["all_prompts"] = seeds.Select(_ => prompt).ToList(),
            ["negative_prompt"] = negative, ["all_negative_prompts"] = seeds.Select(_ => negative).ToList(),
            ["seed"] = seeds.FirstOrDefault(), ["all_seeds"] = seeds, ["subseed"] = -1, ["all_subseeds"] = seeds.Select(_ => -1).ToList(),
            ["subseed_strength"] = 0, ["width"] = width, ["height"] = height,
            ["sampler_name"] = ran.Sampler, ["cfg_scale"] = ran.CfgScale, ["steps"] = ran.Steps,
            ["batch_size"] = ran.BatchSize ?? 1, ["restore_faces"] = false, ["sd_model_name"] = result.Model, ["sd_model_hash"] = null,
            ["seed_resize_from_w"] = -1, ["seed_resize_from_h"] = -1, ["denoising_strength"] = ran.InitImage is null ? null : ran.Strength,
            ["extra_generation_params"] = p.Where(kv => kv.Key.StartsWith("ControlNet ", StringComparison.Ordinal) || kv.Key.StartsWith("Mask", StringComparison.Ordinal)
                                                       || kv.Key.StartsWith("Inpaint", StringComparison.Ordinal) || kv.Key.StartsWith("Masked", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value),
            ["index_of_first_image"] = 0, ["infotexts"] = result.Images.Select(i => i.Infotext).ToList(), ["styles"] = new List<string>(),
            ["job_timestamp"] = DateTime.UtcNow.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture), ["clip_skip"] = 1,
            ["is_using_inpainting_conditioning"] = (result.Model ?? "").Contains("inpainting", StringComparison.OrdinalIgnoreCase),
            ["version"] = "controlhost", ["warnings"] = warnings.Concat(result.Warnings).ToList(),
        };
    }

    private static (int, int) PngSize(Application.Jobs.ImageRef png)
    {
        using var stream = new MemoryStream(png.Data!);
        return ImageIo.Identify(stream, "result");
    }

    private sealed record CheckpointInfo(string title, string model_name, string hash, string sha256, string filename, string? config);

    private static CheckpointInfo Checkpoint(string folder)
    {
        var name = Path.GetFileName(folder);
        var unet = Path.Combine(folder, "unet", "model.onnx");
        var sha = File.Exists(unet) ? ModelNames.Sha256(unet) : "";
        var hash = sha.Length >= 10 ? sha[..10] : sha;
        // filename is the name, not the path: no file-system path leaves the server.
        return new CheckpointInfo($"{name} [{hash}]", name, hash, sha, name, null);
    }

    /// <summary>A checkpoint file: titled by its stem and the first 10 hex digits of its SHA-256, as A1111 does.</summary>
    private static CheckpointInfo CheckpointFile(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        var sha = Application.UserModels.BuiltModelCache.Sha256(file);
        return new CheckpointInfo($"{name} [{sha[..10]}]", name, sha[..10], sha, Path.GetFileName(file), null);
    }

    private static Dictionary<string, string> LoraMetadata(string file)
    {
        try
        {
            using var st = Checkpoints.Safetensors.SafetensorsFile.Open(file);
            return st.Metadata.Where(kv => kv.Key.StartsWith("ss_", StringComparison.Ordinal) && kv.Value.Length < 256)
                .ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        catch (Checkpoints.CheckpointException)
        {
            return [];
        }
    }

    /// <summary>A1111's shape: {loaded: {name: {step, sd_checkpoint, sd_checkpoint_name, shape, vectors}}, skipped: {...}}.</summary>
    private static object Embeddings(ServerContext c)
    {
        var loaded = new Dictionary<string, object?>();
        var skipped = new Dictionary<string, object?>();
        foreach (var file in c.Service.Catalog.Files.Embeddings)
        {
            var name = Path.GetFileNameWithoutExtension(file);
            try
            {
                var e = Checkpoints.Embeddings.EmbeddingFile.Read(file);
                loaded[name] = new { step = (int?)null, sd_checkpoint = (string?)null, sd_checkpoint_name = (string?)null, shape = e.Width, vectors = e.Count };
            }
            catch (Checkpoints.CheckpointException)
            {
                skipped[name] = new { step = (int?)null, sd_checkpoint = (string?)null, sd_checkpoint_name = (string?)null, shape = 0, vectors = 0 };
            }
        }
        return new { loaded, skipped };
    }

    private static Dictionary<string, object?> Options(ServerContext c)
    {
        var name = c.Checkpoint ?? Engine.Models.ModelCatalog.DefaultModelName;
        var folder = c.Service.Catalog.Models.FirstOrDefault(m => string.Equals(Path.GetFileName(m), name, StringComparison.OrdinalIgnoreCase));
        var file = folder is null ? Engine.Models.UserFiles.Find(c.Service.Catalog.Files.Checkpoints, name) : null;
        var title = folder is not null ? Checkpoint(folder).title : file is not null ? CheckpointFile(file).title : name;
        return new Dictionary<string, object?> { ["sd_model_checkpoint"] = title, ["samples_format"] = "png", ["live_previews_enable"] = true, ["show_progress_every_n_steps"] = 5 };
    }

    private static object Progress(ServerContext c)
    {
        var s = c.Jobs.Snapshot;
        var p = s.Progress;
        var fraction = p?.Fraction ?? 0;
        double eta = 0;
        if (s.Started is { } started && fraction > 0) eta = (DateTimeOffset.UtcNow - started).TotalSeconds * (1 - fraction) / fraction;
        return new
        {
            progress = fraction, eta_relative = eta,
            state = new
            {
                skipped = s.Skipped, interrupted = s.Interrupted, job = s.Name ?? "", job_count = s.Name is null ? 0 : 1 + s.Waiting,
                job_timestamp = s.Started?.ToString("yyyyMMddHHmmss", System.Globalization.CultureInfo.InvariantCulture) ?? "0",
                job_no = p?.Image - 1 ?? 0, sampling_step = p?.Step ?? 0, sampling_steps = p?.Steps ?? 0,
            },
            current_image = s.Preview,
            textinfo = s.Name is null ? null : $"{s.Name}: image {p?.Image ?? 0} of {p?.Images ?? 0}, step {p?.Step ?? 0} of {p?.Steps ?? 0}",
        };
    }
}
