using System.Text.Json;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;

namespace ControlHost.Server.Api;

/// <summary>A request's job, the warnings reading it gave (unknown keys, ignored values), and how to answer.</summary>
internal sealed record SdRequest(GenerationJob Job, List<string> Warnings, bool SendImages);

/// <summary>
/// A1111's txt2img and img2img bodies, with the ControlNet extension's units in alwayson_scripts, read into a
/// <see cref="GenerationJob"/>: the names and numbers A1111 clients send, parsed by the application layer's names.
/// Every problem is collected and answered at once in FastAPI's shape.
/// </summary>
internal static class SdRequests
{
    // Fields A1111 takes that ControlHost reads without acting on (they change nothing it can do, or are defaults).
    private static readonly string[] Accepted =
    [
        "subseed", "subseed_strength", "seed_resize_from_h", "seed_resize_from_w", "restore_faces", "tiling",
        "do_not_save_samples", "do_not_save_grid", "eta", "s_min_uncond", "s_churn", "s_tmax", "s_tmin", "s_noise",
        "override_settings_restore_afterwards", "save_images", "script_name", "script_args", "sampler_index", "force_task_id",
        "infotext", "comments", "disable_extra_networks", "firstpass_image", "refiner_checkpoint", "refiner_switch_at",
        "hr_scale", "hr_upscaler", "hr_second_pass_steps", "hr_resize_x", "hr_resize_y", "hr_checkpoint_name",
        "hr_sampler_name", "hr_scheduler", "hr_prompt", "hr_negative_prompt", "firstphase_width", "firstphase_height",
        "initial_noise_multiplier", "image_cfg_scale", "latent_mask", "mask_blur_x", "mask_blur_y", "mask_round",
        "include_init_images", "send_images", "denoising_strength",
    ];

    /// <summary>
    /// SDXL's refiner (a second checkpoint that finishes the last steps) is not something ControlHost runs: a request
    /// that names one is refused rather than answered with the base model's image as if refined. Clients that send the
    /// field empty ("", null, "None") pass.
    /// </summary>
    private static void RefuseRefiner(Body body)
    {
        var refiner = body.Has("refiner_checkpoint") ? body.Str("refiner_checkpoint") : null;
        if (string.IsNullOrWhiteSpace(refiner) || refiner == "None") return;
        body.Errors.Add(new FieldError(body.LocOf("refiner_checkpoint"),
            $"the SDXL refiner ('{refiner}') is not supported: ControlHost generates with the base model alone; send refiner_checkpoint empty or leave it out",
            "value_error.not_supported"));
    }

    public static SdRequest Read(JsonElement root, bool img2img, ServerContext context)
    {
        var errors = new List<FieldError>();
        var body = new Body(root, errors);
        var warnings = new List<string>();
        var model = ModelFromOverrides(body, warnings);
        var job = new GenerationJob
        {
            Prompt = body.Prompt("prompt", context.Limits.MaxPromptChars) ?? "", NegativePrompt = body.Prompt("negative_prompt", context.Limits.MaxPromptChars),
            Seed = body.Long("seed", -1, uint.MaxValue), Sampler = Sampler(body, warnings),
            BatchSize = body.Int("batch_size", 1, context.Limits.MaxBatch, "max-batch"), Iterations = body.Int("n_iter", 1, context.Limits.MaxBatch, "max-batch"),
            Steps = body.Int("steps", 1, context.Limits.MaxSteps, "max-steps"), CfgScale = body.Num("cfg_scale", 0, 100),
            Width = body.Int("width", 64, context.Limits.MaxSide, "max-side"), Height = body.Int("height", 64, context.Limits.MaxSide, "max-side"), Model = model,
        };
        if (body.Array("styles") is { Count: > 0 }) warnings.Add("styles are not supported and were ignored");
        var hires = body.Bool("enable_hr") == true;
        if (hires && img2img) warnings.Add("enable_hr is for txt2img (A1111 ignores it in img2img); it was ignored");
        else if (hires) job = job with { Hires = ReadHires(body, context, warnings) };
        RefuseRefiner(body);
        foreach (var key in Accepted) body.TryGet(key, out _);
        if (img2img) job = ReadImg2Img(body, job, warnings);
        else if (!hires && body.Has("denoising_strength")) body.Num("denoising_strength", 0, 1);
        var units = ReadUnits(body, context, warnings, img2img ? job.InitImage : null);
        job = job with { Units = units };
        var sendImages = body.Bool("send_images") ?? true;
        foreach (var key in body.Unread()) warnings.Add($"'{key}' is not a field ControlHost knows; it was ignored");
        body.ThrowIfInvalid();
        if (job.Width is { } w && w % 8 != 0) throw ValidationException.One("width", $"width {w} must be a multiple of 8");
        if (job.Height is { } h && h % 8 != 0) throw ValidationException.One("height", $"height {h} must be a multiple of 8");
        return new SdRequest(job, warnings, sendImages);
    }

    /// <summary>A1111's hires-fix fields (enable_hr is true).</summary>
    private static HiresSpec ReadHires(Body body, ServerContext context, List<string> warnings)
    {
        var sampler = body.Str("hr_sampler_name");
        if (sampler is not null && (sampler.Length == 0 || sampler.StartsWith("Use same", StringComparison.OrdinalIgnoreCase))) sampler = null;
        if (sampler is not null && SamplerNames.TryParse(sampler) is null)
            body.Errors.Add(new FieldError(body.LocOf("hr_sampler_name"), $"unknown sampler '{sampler}' (known: {string.Join(", ", SamplerNames.Names)})", "value_error.not_found"));
        var upscaler = body.Str("hr_upscaler") ?? HiresSpec.DefaultUpscaler;
        var known = HiresSpec.UpscalerNamesWith(context.Service.Catalog.Files.Upscalers).ToList();
        if (!known.Contains(upscaler, StringComparer.OrdinalIgnoreCase))
            body.Errors.Add(new FieldError(body.LocOf("hr_upscaler"),
                $"unknown upscaler '{upscaler}' (known: {string.Join(", ", known)}); {Application.Upscaling.Upscalers.WhereFilesGo}", "value_error.not_found"));
        if (body.Str("hr_checkpoint_name") is { } checkpoint && !checkpoint.StartsWith("Use same", StringComparison.OrdinalIgnoreCase))
            warnings.Add($"hr_checkpoint_name '{checkpoint}': the second pass uses the first pass's checkpoint");
        return new HiresSpec
        {
            Scale = body.Num("hr_scale", 1, 4) ?? 2, Upscaler = upscaler, Sampler = sampler,
            ResizeX = body.Int("hr_resize_x", 0, context.Limits.MaxSide * 4), ResizeY = body.Int("hr_resize_y", 0, context.Limits.MaxSide * 4),
            Steps = body.Int("hr_second_pass_steps", 0, context.Limits.MaxSteps, "max-steps"), Strength = body.Num("denoising_strength", 0, 1),
            Prompt = body.Prompt("hr_prompt", context.Limits.MaxPromptChars), NegativePrompt = body.Prompt("hr_negative_prompt", context.Limits.MaxPromptChars),
        };
    }

    private static string? ModelFromOverrides(Body body, List<string> warnings)
    {
        var overrides = body.Object("override_settings");
        if (overrides is null) return null;
        var model = overrides.Str("sd_model_checkpoint");
        foreach (var key in overrides.Unread()) warnings.Add($"override_settings.{key} is not supported; it was ignored");
        // A1111 titles are "name [hash]": the name is what the catalog knows.
        return model is null ? null : model.Contains(" [") ? model[..model.IndexOf(" [", StringComparison.Ordinal)] : model;
    }

    private static string? Sampler(Body body, List<string> warnings)
    {
        var name = body.Str("sampler_name") ?? body.Str("sampler_index");
        // A1111 1.9+ sends the schedule type apart from the sampler.
        if (body.Str("scheduler") is { } scheduler)
        {
            var (combined, problem) = SamplerNames.WithScheduler(name, scheduler);
            if (problem is not null) body.Errors.Add(new FieldError(body.LocOf("scheduler"), problem, "value_error"));
            name = combined ?? name;
        }
        if (name is null) return null;
        if (SamplerNames.TryParse(name) is not null) return name;
        // A1111 falls back to its default for an unknown sampler; so does ControlHost, saying so.
        warnings.Add($"sampler '{name}' is not one of {string.Join(", ", SamplerNames.Names)}; {SamplerNames.Default} was used");
        return null;
    }

    private static GenerationJob ReadImg2Img(Body body, GenerationJob job, List<string> warnings)
    {
        var inits = body.Array("init_images");
        if (inits is not { Count: > 0 })
        {
            body.Errors.Add(new FieldError(["body", "init_images"], "field required: img2img needs at least one init image", "value_error.missing"));
            return job;
        }
        if (inits.Count > 1) warnings.Add($"{inits.Count} init images given; the first was used");
        var init = inits[0].ValueKind == JsonValueKind.String ? ImageSource.FromBase64(inits[0].GetString()!, "init_images[0]") : null;
        if (init is null) body.Errors.Add(new FieldError(["body", "init_images", "0"], "str type expected (base64 image)", "type_error.str"));
        var resize = body.Int("resize_mode", 0, 3);
        if (resize == 3) warnings.Add("resize_mode 3 (latent upscale) is not supported; just resize was used");
        job = job with { InitImage = init, Strength = body.Num("denoising_strength", 0, 1) ?? 0.75 };
        var mask = body.Str("mask");
        var inpaint = new InpaintSpec
        {
            MaskBlur = body.Num("mask_blur", 0, 256),
            Content = body.Int("inpainting_fill", 0, 3) is { } fill ? (MaskedContent)fill : null,
            OnlyMasked = body.Bool("inpaint_full_res") ?? false,
            Padding = body.Int("inpaint_full_res_padding", 0, 4096),
            Invert = (body.Int("inpainting_mask_invert", 0, 1) ?? 0) == 1,
        };
        return mask is null ? job : job with { Inpaint = inpaint with { MaskImage = ImageSource.FromBase64(mask, "mask") } };
    }

    private static List<UnitSpec> ReadUnits(Body body, ServerContext context, List<string> warnings, ImageSource? initImage)
    {
        var scripts = body.Object("alwayson_scripts");
        if (scripts is null) return [];
        var units = new List<UnitSpec>();
        foreach (var property in scripts.Root.ValueKind == JsonValueKind.Object ? scripts.Root.EnumerateObject() : Enumerable.Empty<JsonProperty>())
        {
            var script = scripts.Object(property.Name);
            if (script is null || script.Root.ValueKind != JsonValueKind.Object)
            {
                body.Errors.Add(new FieldError(["body", "alwayson_scripts", property.Name], "an object with \"args\" (a list of units) expected", "type_error.dict"));
                continue;
            }
            if (!string.Equals(property.Name, "controlnet", StringComparison.OrdinalIgnoreCase))
            {
                warnings.Add($"alwayson_scripts.{property.Name} is not supported; it was ignored");
                continue;
            }
            var args = script.Array("args") ?? [];
            // Clients send every unit slot, disabled ones too: the limit counts the enabled units.
            for (var i = 0; i < args.Count; i++)
                if (ReadUnit(new Body(args[i], body.Errors, "body", "alwayson_scripts", property.Name, "args", i.ToString()), i, context, warnings, initImage) is { } unit)
                    units.Add(unit);
            if (units.Count > context.Limits.MaxUnits)
                body.Errors.Add(new FieldError(["body", "alwayson_scripts", property.Name, "args"],
                    $"{units.Count} enabled ControlNet units; the limit is {context.Limits.MaxUnits} (the server's --limit max-units)", "value_error.list.max_items"));
        }
        return units;
    }

    internal static UnitSpec? ReadUnit(Body u, int index, ServerContext context, List<string> warnings, ImageSource? initImage)
    {
        var field = $"alwayson_scripts.ControlNet.args[{index}]";
        var image = UnitImage(u, "image") ?? initImage;
        // Clients written before the extension made "enabled" default to false omit it and expect the unit to run.
        var enabled = u.Bool("enabled") ?? image is not null;
        var module = u.Str("module") ?? "none";
        var modelName = u.Str("model") ?? "None";
        var weight = u.Num("weight", 0, 2) ?? 1;
        var start = u.Num("guidance_start", 0, 1) ?? 0;
        var end = u.Num("guidance_end", 0, 1) ?? u.Num("guidance", 0, 1) ?? 1;
        var pixelPerfect = u.Bool("pixel_perfect") ?? false;
        var processorRes = u.Num("processor_res", double.MinValue, double.MaxValue) ?? -1;
        var thresholdA = u.Num("threshold_a", -1e9, 1e9) ?? -1;
        var thresholdB = u.Num("threshold_b", -1e9, 1e9) ?? -1;
        var resize = u.Str("resize_mode") is { } r ? UnitNames.TryParseResizeMode(r) : null;
        var mode = u.Str("control_mode") is { } m ? UnitNames.TryParseControlMode(m) : null;
        if (u.Has("resize_mode") && resize is null) u.Errors.Add(new FieldError(u.LocOf("resize_mode"), UnitNames.ResizeModeHelp, "value_error"));
        if (u.Has("control_mode") && mode is null) u.Errors.Add(new FieldError(u.LocOf("control_mode"), UnitNames.ControlModeHelp, "value_error"));
        var region = UnitImage(u, "effective_region_mask");
        if (u.Has("mask") || u.Has("mask_image")) warnings.Add($"{field}: a unit mask is only used by inpaint modules; it was ignored");
        var returnMap = u.Bool("save_detected_map") ?? true;
        var pass = u.Str("hr_option") is { } option ? UnitNames.TryParseHiresPass(option) : HiresPass.Both;
        if (pass is null) u.Errors.Add(new FieldError(u.LocOf("hr_option"), UnitNames.HiresPassHelp, "value_error"));
        // The extension's union_control_type ("Unknown": from the module), read by union ControlNets.
        var unionType = u.Str("union_control_type");
        foreach (var key in new[] { "low_vram", "lowvram", "inpaint_crop_input_image", "advanced_weighting", "input_mode", "batch_images" })
            u.TryGet(key, out _);
        foreach (var key in u.Unread()) warnings.Add($"{field}.{key} is not a unit field ControlHost knows; it was ignored");
        if (!enabled) return null;
        if (image is null)
        {
            u.Errors.Add(new FieldError(u.LocOf("image"), "an enabled unit needs an image (base64)", "value_error.missing"));
            return null;
        }

        // A ControlNet folder, or a user's ControlNet file (built when the job runs): its name and condition.
        (string Name, string Condition)? model = null;
        if (!string.Equals(modelName, "None", StringComparison.OrdinalIgnoreCase))
        {
            var catalog = context.Service.Catalog;
            if (ModelNames.MatchControlNet(catalog.ControlNets, modelName) is { } folder) model = (folder.Name, folder.Condition);
            else if (ModelNames.MatchControlNetFile(catalog.Files.ControlNets, modelName) is { } file)
                model = (Path.GetFileNameWithoutExtension(file), context.Service.Built.ConditionOf(file));
            if (model is null)
            {
                var known = catalog.ControlNets.Select(ModelNames.ControlNetTitle).Concat(catalog.Files.ControlNets.Select(ModelNames.ControlNetFileTitle));
                u.Errors.Add(new FieldError(u.LocOf("model"),
                    $"unknown ControlNet '{modelName}' (known: {string.Join(", ", known)})", "value_error.not_found"));
                return null;
            }
        }
        var preprocess = !string.Equals(module, "none", StringComparison.OrdinalIgnoreCase);
        string condition;
        if (preprocess)
        {
            var type = context.Service.FindModule(module);
            if (type is null)
            {
                u.Errors.Add(new FieldError(u.LocOf("module"), context.Service.ModuleMissing(module)
                    ?? $"unknown module '{module}' (known: {string.Join(", ", context.Service.Conditions.Types.Select(t => t.Id))}; see /controlnet/module_list)", "value_error.not_found"));
                return null;
            }
            condition = type.Id;
        }
        else if (model is not null) condition = model.Value.Condition;
        else
        {
            u.Errors.Add(new FieldError(u.LocOf("model"), "module 'none' passes a ready hint: name the ControlNet it is for", "value_error.missing"));
            return null;
        }
        var options = new Dictionary<string, string>();
        var resolution = preprocess ? ModuleSliders.Apply(context.Service.Conditions.Find(condition), module, processorRes, thresholdA, thresholdB, options, warnings) : 0;
        if (pixelPerfect) resolution = 0;
        return new UnitSpec
        {
            Condition = condition, Image = image, Weight = (float)weight, Start = start, End = end, Mode = mode ?? ControlMode.Balanced,
            Resize = resize ?? ResizeMode.CropAndResize, Model = model?.Name, Preprocess = preprocess, Options = options,
            ProcessorResolution = resolution, Mask = region, ReturnMap = returnMap, Pass = pass ?? HiresPass.Both, UnionType = unionType,
        };
    }

    private static ImageSource? UnitImage(Body u, string key)
    {
        if (!u.TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        // An empty image is no image: on img2img the unit then takes the init image, as the extension does.
        switch (v.ValueKind)
        {
            case JsonValueKind.String: return string.IsNullOrWhiteSpace(v.GetString()) ? null : ImageSource.FromBase64(v.GetString()!, key);
            case JsonValueKind.Object when v.TryGetProperty("image", out var inner) && inner.ValueKind == JsonValueKind.String:
                return string.IsNullOrWhiteSpace(inner.GetString()) ? null : ImageSource.FromBase64(inner.GetString()!, key);
            case JsonValueKind.Array when v.GetArrayLength() > 0 && v[0].ValueKind == JsonValueKind.String:
                return ImageSource.FromBase64(v[0].GetString()!, key);
        }
        u.Errors.Add(new FieldError(u.LocOf(key), "expected a base64 image, {image, mask} or [image, mask]", "type_error"));
        return null;
    }
}
