using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Upscaling;

namespace ControlHost.Server.Api;

/// <summary>
/// The A1111 routes clients call on connect or for features ControlHost has no model for (issue 25): lists answer
/// what A1111 answers with nothing installed (an empty list) or with what ControlHost has; refresh rescans the
/// model folders; extras upscales with the built-in upscalers; interrogate says what it lacks.
/// </summary>
internal static class SdExtraRoutes
{
    public static void Map(RouteGroupBuilder sd)
    {
        // The built-in upscalers, then users' ONNX exports (named by file stem; never a server path).
        sd.MapGet("/upscalers", (ServerContext c) => Upscalers.Names.Select(n => new { name = n, model_name = (string?)null, model_path = (string?)null, model_url = (string?)null, scale = Upscalers.NominalScale })
            .Concat(c.Service.Catalog.Files.Upscalers.Select(f => new
            {
                name = Path.GetFileNameWithoutExtension(f), model_name = (string?)Path.GetFileNameWithoutExtension(f), model_path = (string?)null, model_url = (string?)null,
                scale = Upscalers.ScaleOf(f),
            })));
        // The hires fix's latent modes (torch's interpolate modes, as A1111 names them).
        sd.MapGet("/latent-upscale-modes", () => HiresSpec.LatentModes.Select(m => new { name = m.Name }));
        // Each sampler's own schedule, and Karras sigmas (with DPM++ 2M).
        sd.MapGet("/schedulers", () => SamplerNames.Schedulers.Select(s => new { name = s.Name, label = s.Label, aliases = (string[]?)null, default_rho = s.Name == "karras" ? 7.0 : -1.0, need_inner_model = false }));
        sd.MapGet("/sd-vae", () => Array.Empty<object>());
        sd.MapGet("/hypernetworks", () => Array.Empty<object>());
        sd.MapGet("/face-restorers", () => Array.Empty<object>());
        sd.MapGet("/realesrgan-models", () => Array.Empty<object>());
        sd.MapGet("/prompt-styles", () => Array.Empty<object>());
        sd.MapGet("/scripts", () => new { txt2img = Array.Empty<string>(), img2img = Array.Empty<string>() });
        sd.MapGet("/cmd-flags", (ServerContext c) => new Dictionary<string, object?>
        {
            // A1111's names for what ControlHost has; secrets (api_auth) are never echoed.
            ["api"] = true, ["nowebui"] = false, ["listen"] = c.Settings.Listen, ["port"] = c.Settings.Port, ["api_auth"] = null,
            ["cors_allow_origins"] = c.Settings.CorsOrigins.Count == 0 ? null : string.Join(",", c.Settings.CorsOrigins),
            ["ckpt_dir"] = null, ["lora_dir"] = null, ["embeddings_dir"] = null,
        });
        sd.MapGet("/memory", () => Memory());
        sd.MapPost("/refresh-checkpoints", (ServerContext c) =>
        {
            c.Service.RefreshCatalog();
            return SdApi.JsonNull();
        });
        sd.MapPost("/refresh-loras", (ServerContext c) =>
        {
            c.Service.RefreshCatalog();
            return SdApi.JsonNull();
        });
        sd.MapPost("/refresh-vae", () => SdApi.JsonNull());
        sd.MapPost("/interrogate", () => Results.Json(new
        {
            error = "NotImplemented",
            detail = "interrogate needs a captioning model (CLIP interrogator or DeepBooru); ControlHost has none, so it cannot describe an image",
            body = "", errors = "",
        }, statusCode: 501));
        sd.MapPost("/extra-single-image", async (HttpRequest r, ServerContext c, CancellationToken ct) =>
        {
            var body = new Body(await SdApi.ReadJson(r), []);
            var image = body.Str("image");
            if (string.IsNullOrEmpty(image)) body.Errors.Add(new FieldError(body.LocOf("image"), "field required: a base64 image", "value_error.missing"));
            var options = ReadExtras(body, c);
            body.ThrowIfInvalid();
            var result = await Analysis.Run(c, "extras", ct, _ => Upscale(c, ImageSource.FromBase64(image!, "image"), "image", options));
            return Results.Json(new { html_info = "", image = result });
        }).Accepts<Schemas.ExtrasSingleImageRequest>("application/json").Produces<Schemas.ExtrasSingleImageResponse>();
        sd.MapPost("/extra-batch-images", async (HttpRequest r, ServerContext c, CancellationToken ct) =>
        {
            var body = new Body(await SdApi.ReadJson(r), []);
            var list = body.Array("imageList") ?? [];
            if (list.Count == 0) body.Errors.Add(new FieldError(body.LocOf("imageList"), "field required: a list of {data: base64 image, name}", "value_error.missing"));
            if (list.Count > c.Limits.MaxBatch)
                body.Errors.Add(new FieldError(body.LocOf("imageList"), $"{list.Count} images; the limit is {c.Limits.MaxBatch} (the server's --limit max-batch)", "value_error.list.max_items"));
            var images = new List<string>();
            for (var i = 0; i < list.Count; i++)
            {
                var item = new Body(list[i], body.Errors, "body", "imageList", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                item.Str("name");
                if (item.Str("data") is { Length: > 0 } data) images.Add(data);
                else item.Errors.Add(new FieldError(item.LocOf("data"), "field required: a base64 image", "value_error.missing"));
            }
            var options = ReadExtras(body, c);
            body.ThrowIfInvalid();
            var results = await Analysis.Run(c, "extras", ct, bound => images.Select((data, i) =>
            {
                bound.ThrowIfCancellationRequested();
                return Upscale(c, ImageSource.FromBase64(data, $"imageList[{i}]"), $"imageList[{i}].data", options);
            }).ToList());
            return Results.Json(new { html_info = "", images = results });
        }).Accepts<Schemas.ExtrasBatchImagesRequest>("application/json").Produces<Schemas.ExtrasBatchImagesResponse>();
    }

    private sealed record ExtrasOptions(int ResizeMode, double Scale, int? Width, int? Height, bool Crop, string Upscaler1, string Upscaler2, double Visibility2);

    private static ExtrasOptions ReadExtras(Body body, ServerContext c)
    {
        var files = c.Service.Catalog.Files.Upscalers;
        var mode = body.Int("resize_mode", 0, 1) ?? 0;
        var scale = body.Num("upscaling_resize", 0.01, 16) ?? 2;
        var width = body.Int("upscaling_resize_w", 1, 16384);
        var height = body.Int("upscaling_resize_h", 1, 16384);
        var crop = body.Bool("upscaling_crop") ?? true;
        var visibility = body.Num("extras_upscaler_2_visibility", 0, 1) ?? 0;
        string Upscaler(string key)
        {
            var name = body.Str(key);
            var match = Upscalers.Canonical(name, files);
            if (match is null)
                body.Errors.Add(new FieldError(body.LocOf(key), $"unknown upscaler '{name}' (known: {string.Join(", ", Upscalers.NamesWith(files))}); {Upscalers.WhereFilesGo}", "value_error.not_found"));
            return match ?? "None";
        }
        var first = Upscaler("upscaler_1");
        var second = Upscaler("upscaler_2");
        // Read and ignored: face restoration needs models ControlHost does not have (A1111 skips them at visibility 0).
        foreach (var key in new[] { "show_extras_results", "gfpgan_visibility", "codeformer_visibility", "codeformer_weight", "upscale_first" }) body.TryGet(key, out _);
        if (mode == 1 && width is null && height is null)
            body.Errors.Add(new FieldError(body.LocOf("upscaling_resize_w"), "resize_mode 1 (to a size) needs upscaling_resize_w and upscaling_resize_h", "value_error.missing"));
        return new ExtrasOptions(mode, scale, width, height, crop && mode == 1 && width is not null && height is not null, first, second, visibility);
    }

    private static string Upscale(ServerContext c, ImageSource source, string field, ExtrasOptions o)
    {
        var image = source.Load(c.Service.Paths, field, c.Service.Images);
        var (w, h) = Upscalers.TargetSize(image.Width, image.Height, o.Scale, o.ResizeMode == 1 ? o.Width : null, o.ResizeMode == 1 ? o.Height : null, c.Service.Images, field);
        return Pngs.Base64(Upscalers.Extras(image, o.Upscaler1, o.Upscaler2, o.Visibility2, w, h, o.Crop, c.Service.Catalog.Files.Upscalers));
    }

    /// <summary>A1111's shape: {ram: {free, used, total}, cuda: {...} or {error}} in bytes.</summary>
    private static object Memory()
    {
        var info = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").Select(l => l.Split(':', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0], p => long.TryParse(p[1].Trim().Split(' ')[0], out var kb) ? kb * 1024 : 0)
            : new Dictionary<string, long>();
        var total = info.GetValueOrDefault("MemTotal", GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);
        var used = Environment.WorkingSet;
        return new
        {
            ram = new { free = Math.Max(0, total - used), used, total },
            cuda = new { error = "ControlHost reports no CUDA memory here (ONNX Runtime holds it)" },
        };
    }
}
