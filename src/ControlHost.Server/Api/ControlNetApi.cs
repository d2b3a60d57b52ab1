using System.Globalization;
using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Application.Detection;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Preprocessors;

namespace ControlHost.Server.Api;

/// <summary>The sd-webui-controlnet extension's routes (../shared/a1111-api.md), over the module directory.</summary>
internal static class ControlNetApi
{
    public static void Map(WebApplication app)
    {
        var cn = app.MapGroup("/controlnet");
        cn.MapGet("/version", () => new { version = 3 });
        cn.MapGet("/settings", (ServerContext c) => new { control_net_unit_count = c.Limits.MaxUnits });
        cn.MapGet("/model_list", (ServerContext c) => new
        {
            model_list = c.Service.Catalog.ControlNets.Select(ModelNames.ControlNetTitle)
                .Concat(c.Service.Catalog.Files.ControlNets.Select(ModelNames.ControlNetFileTitle)).OrderBy(n => n, StringComparer.Ordinal).ToList(),
        });
        cn.MapGet("/module_list", (ServerContext c, bool? alias_names) =>
        {
            var modules = ModuleDirectory.List(c.Service.Conditions);
            var names = new List<string> { "none" };
            names.AddRange(modules.Select(m => m.Name).Where(n => n != "none"));
            var detail = new Dictionary<string, object>(StringComparer.OrdinalIgnoreCase) { ["none"] = new { model_free = false, sliders = Array.Empty<Slider>() } };
            foreach (var m in modules.Where(m => m.Name != "none"))
                detail[m.Name] = new { model_free = m.ModelCondition is null, sliders = ModuleSliders.For(m.Options, takesResolution: true) };
            // Every name of the extension's (its labels with alias_names): what runs it here, or what it needs.
            foreach (var e in ExtensionModules.All)
            {
                var shown = alias_names == true ? e.Label : e.Name;
                if (detail.ContainsKey(shown)) continue;
                names.Add(shown);
                var type = c.Service.FindModule(e.Name);
                var builtIn = type is null ? PreprocessorRegistry.Find(e.Name) ?? PreprocessorRegistry.Find(e.Label) : null;
                detail[shown] = type is not null || builtIn is not null
                    ? new { model_free = false, sliders = ModuleSliders.For(type?.Options ?? PreprocessorRegistry.OptionsOf(builtIn!), takesResolution: true), runs = type?.Id ?? builtIn!.Name }
                    : new { model_free = false, sliders = ModuleSliders.For([], takesResolution: true), needs = c.Service.ModuleMissing(e.Name) } as object;
            }
            return new { module_list = names, module_detail = detail };
        });
        cn.MapGet("/control_types", (ServerContext c) =>
        {
            var types = c.Service.Conditions.Types.OrderBy(t => t.Id, StringComparer.Ordinal).ToList();
            var controlNets = c.Service.Catalog.ControlNets;
            var result = new Dictionary<string, object>
            {
                ["All"] = new
                {
                    module_list = types.Select(t => t.Id).Concat(ExtensionModules.All.Select(e => e.Name)).Distinct(StringComparer.OrdinalIgnoreCase).Prepend("none").ToList(),
                    model_list = controlNets.Select(ModelNames.ControlNetTitle).Prepend("None").ToList(),
                    default_option = "none", default_model = "None",
                },
            };
            // The extension's tags (Canny, Depth, OpenPose, ...) with every module it lists under each, beside ControlHost's
            // own conditions; a tag's models are the ControlNets for its condition.
            var conditions = types.Select(t => t.ModelCondition).Concat(ExtensionModules.All.Select(e => e.Condition)).Distinct(StringComparer.OrdinalIgnoreCase);
            foreach (var condition in conditions)
            {
                var own = types.Where(t => string.Equals(t.ModelCondition, condition, StringComparison.OrdinalIgnoreCase)).Select(t => t.Id);
                var theirs = ExtensionModules.All.Where(e => string.Equals(e.Condition, condition, StringComparison.OrdinalIgnoreCase)).ToList();
                var modules = own.Concat(theirs.Select(e => e.Name)).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
                var models = controlNets.Where(n => string.Equals(n.Condition, condition, StringComparison.OrdinalIgnoreCase)).Select(ModelNames.ControlNetTitle).ToList();
                result[theirs.FirstOrDefault()?.Tag ?? Tag(condition)] = new
                {
                    module_list = modules.Prepend("none").ToList(),
                    model_list = models.Prepend("None").ToList(),
                    default_option = modules[0], default_model = models.FirstOrDefault() ?? "None",
                };
            }
            return new { control_types = result };
        });
        cn.MapPost("/detect", async (HttpRequest r, ServerContext c, ILoggerFactory logs, CancellationToken ct) =>
        {
            var logger = logs.CreateLogger("ControlNet");
            var body = new Body(await SdApi.ReadJson(r), []);
            var module = body.Str("controlnet_module") ?? "none";
            var inputs = body.Array("controlnet_input_images") ?? [];
            var resolution = body.Num("controlnet_processor_res", double.MinValue, double.MaxValue) ?? -1;
            var a = body.Num("controlnet_threshold_a", double.MinValue, double.MaxValue) ?? -1;
            var b = body.Num("controlnet_threshold_b", double.MinValue, double.MaxValue) ?? -1;
            var masks = body.Array("controlnet_masks") ?? [];
            body.Bool("low_vram");
            body.ThrowIfInvalid();
            if (inputs.Count == 0) throw ValidationException.One("controlnet_input_images", "No image selected");
            if (inputs.Count > c.Limits.MaxBatch) throw ValidationException.One("controlnet_input_images", $"at most {c.Limits.MaxBatch} images a request");
            // Inpaint modules black out a masked region: the extension refuses them without a mask per image.
            var inpaint = string.Equals(c.Service.Conditions.Find(module)?.Id, "inpaint", StringComparison.OrdinalIgnoreCase);
            if (inpaint && (masks.Count != inputs.Count || masks.Any(m => m.ValueKind != JsonValueKind.String)))
                throw ValidationException.One("controlnet_masks", $"module '{module}' needs a mask for each input image (controlnet_masks: {inputs.Count} base64 images, white where to inpaint)");
            var options = new Dictionary<string, string>();
            var warnings = new List<string>();
            var at = ModuleSliders.Apply(c.Service.Conditions.Find(module), module, resolution, a, b, options, warnings);
            if (at > 0) options["resolution"] = at.ToString(CultureInfo.InvariantCulture);
            foreach (var w in warnings) logger.LogWarning("{Warning}", w);
            for (var i = 0; i < inputs.Count; i++)
                if (inputs[i].ValueKind != JsonValueKind.String) throw ValidationException.One($"controlnet_input_images.{i}", "str type expected (base64 image)", "type_error.str");
            var detector = c.Service.Detector();
            var (images, poses) = await Analysis.Run(c, "detect", ct, bound =>
            {
                var images = new List<string>();
                var poses = new List<JsonElement>();
                for (var i = 0; i < inputs.Count; i++)
                {
                    bound.ThrowIfCancellationRequested();
                    var source = ImageSource.FromBase64(inputs[i].GetString()!, $"controlnet_input_images[{i}]");
                    if (string.Equals(module, "none", StringComparison.OrdinalIgnoreCase))
                    {
                        images.Add(Pngs.Base64(source.Load(c.Service.Paths, $"controlnet_input_images[{i}]", c.Service.Images)));
                        continue;
                    }
                    if (inpaint)
                    {
                        var picture = source.Load(c.Service.Paths, $"controlnet_input_images[{i}]", c.Service.Images);
                        var mask = ImageSource.FromBase64(masks[i].GetString()!, $"controlnet_masks[{i}]").Load(c.Service.Paths, $"controlnet_masks[{i}]", c.Service.Images);
                        images.Add(Pngs.Base64(Masks.MaskedImage(picture, Engine.Imaging.ImageIo.Fit(mask, picture.Width, picture.Height, Engine.Imaging.ResizeMode.JustResize))));
                        continue;
                    }
                    var output = detector.Detect(module, source, options, bound);
                    bound.ThrowIfCancellationRequested();
                    images.Add(Pngs.Base64(output.Image));
                    if (output.Json is not null) poses.Add(JsonDocument.Parse(output.Json).RootElement.Clone());
                }
                return (images, poses);
            });
            return poses.Count > 0 ? Results.Json(new { info = "Success", images, poses, warnings }) : Results.Json(new { info = "Success", images, warnings });
        }).Accepts<Schemas.DetectRequest>("application/json").Produces<Schemas.DetectResponse>();
        cn.MapPost("/render_openpose_json", async (HttpRequest r, ServerContext c, CancellationToken ct) =>
        {
            var root = await SdApi.ReadJson(r);
            if (root.ValueKind != JsonValueKind.Array) throw ValidationException.One("body", "expected a list of OpenPose documents", "type_error.list");
            if (root.GetArrayLength() == 0) return Results.Json(new { info = "No pose data detected." });
            if (root.GetArrayLength() > c.Limits.MaxBatch)
                throw ValidationException.One("body", $"{root.GetArrayLength()} poses; the limit is {c.Limits.MaxBatch} (the server's --limit max-batch)", "value_error.list.max_items");
            // Every document is read and its canvas checked before anything is drawn.
            var poses = new List<PoseDocument>();
            var i = 0;
            foreach (var doc in root.EnumerateArray())
            {
                var field = i.ToString(CultureInfo.InvariantCulture);
                try
                {
                    poses.Add(OpenPose.Parse(doc.GetRawText(), $"body[{i}]"));
                }
                catch (Exception e) when (e is ArgumentException or FormatException or InvalidDataException or JsonException)
                {
                    throw ValidationException.One(field, e.Message);
                }
                c.Service.Images.CheckWork(poses[^1].CanvasWidth, poses[^1].CanvasHeight, field, "the OpenPose canvas");
                i++;
            }
            var images = await Analysis.Run(c, "render_openpose_json", ct, bound => poses.Select(pose =>
            {
                bound.ThrowIfCancellationRequested();
                return Pngs.Base64(OpenPose.Render(pose, pose.CanvasWidth, pose.CanvasHeight));
            }).ToList());
            return Results.Json(new { images, info = "Success" });
        }).Accepts<Schemas.OpenPoseDocument[]>("application/json");
    }

    /// <summary>The extension's tag for a condition: "Canny", "Depth", "Seg" ...</summary>
    private static string Tag(string condition) => condition.Length == 0 ? condition : char.ToUpperInvariant(condition[0]) + condition[1..];
}
