using System.Globalization;
using System.Text.Json;
using ControlHost.Application.Detection;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Jobs;
using ControlHost.Application.Names;
using ControlHost.Application.Placement;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;

namespace ControlHost.Server.Api;

/// <summary>ControlHost's own routes (/controlhost/v1): what A1111 has no route for.</summary>
internal static class ControlHostApi
{
    public static void Map(WebApplication app)
    {
        var ch = app.MapGroup("/controlhost/v1");
        ch.MapGet("/models", (ServerContext c) => new
        {
            models = c.Service.Catalog.Models.Select(Path.GetFileName).ToList(),
            // Per model: its family and native size (what the page sets Size to when a checkpoint is picked).
            checkpoints = c.Service.Catalog.Describe().Select(m => new { name = m.Name, family = m.Family?.Id, native_size = m.NativeSize }),
            // Folders, then the user's ControlNet files (condition and family read from the file's name and header).
            controlnets = c.Service.Catalog.ControlNets.Select(n => new
            {
                name = n.Name, title = ModelNames.ControlNetTitle(n), condition = n.Condition, @base = n.Base, family = c.Service.Catalog.FamilyOf(n)?.Id,
            }).Concat(c.Service.Catalog.Files.ControlNets.Select(f => new
            {
                name = Path.GetFileNameWithoutExtension(f), title = ModelNames.ControlNetFileTitle(f), condition = c.Service.Built.ConditionOf(f),
                @base = (string?)null, family = c.Service.Built.FamilyOf(f),
            })),
            adapters = c.Service.Catalog.Adapters.Select(a => new { name = a.Name, condition = a.Condition, @base = a.Base }),
        });
        ch.MapGet("/plugins", (ServerContext c) => new
        {
            modules = ModuleDirectory.List(c.Service.Conditions).Select(m => new
            {
                name = m.Name, aliases = m.Aliases, description = m.Description, model_condition = m.ModelCondition,
                kind = m.Kind?.ToString().ToLowerInvariant(),
                options = m.Options.Select(o => new { name = o.Name, kind = o.Kind.ToString().ToLowerInvariant(), @default = o.Default, min = o.Min, max = o.Max, help = o.Help }),
            }),
            notices = c.Service.Notices,
        });
        // Server-sent events: the queue's state four times a second (what /sdapi/v1/progress answers once), for as
        // long as the client listens (at most ?seconds=, default 600).
        ch.MapGet("/progress/stream", async (HttpContext http, ServerContext c, int? seconds) =>
        {
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            var until = DateTime.UtcNow.AddSeconds(Math.Clamp(seconds ?? 600, 1, 3600));
            var ct = http.RequestAborted;
            try
            {
                while (!ct.IsCancellationRequested && DateTime.UtcNow < until)
                {
                    var s = c.Jobs.Snapshot;
                    var p = s.Progress;
                    var json = JsonSerializer.Serialize(new
                    {
                        job = s.Name, id = s.Id, waiting = s.Waiting, image = p?.Image ?? 0, images = p?.Images ?? 0, step = p?.Step ?? 0, steps = p?.Steps ?? 0,
                        interrupted = s.Interrupted,
                    });
                    await http.Response.WriteAsync($"data: {json}\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    await Task.Delay(250, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // the client went away
            }
        });
        ch.MapPost("/suggest-boxes", async (HttpRequest r, ServerContext c, CancellationToken ct) =>
        {
            var body = new Body(await SdApi.ReadJson(r), []);
            var background = body.Str("background");
            var width = body.Int("width", 1, c.Limits.MaxSide * 4);
            var height = body.Int("height", 1, c.Limits.MaxSide * 4);
            var count = body.Int("count", 1, BoxSuggester.MaxCount) ?? 5;
            var freeOnly = body.Bool("free_space_only") ?? false;
            if (background is null) body.Errors.Add(new FieldError(["body", "background"], "field required: a base64 image", "value_error.missing"));
            if (width is null) body.Errors.Add(new FieldError(["body", "width"], "field required", "value_error.missing"));
            if (height is null) body.Errors.Add(new FieldError(["body", "height"], "field required", "value_error.missing"));
            body.ThrowIfInvalid();
            var boxes = await Analysis.Run(c, "suggest-boxes", ct, bound =>
            {
                var image = ImageSource.FromBase64(background!, "background").Load(c.Service.Paths, "background", c.Service.Images);
                return BoxSuggester.Suggest(image, width!.Value, height!.Value, count, freeOnly ? SuggestWeights.FreeSpaceOnly : SuggestWeights.Default, bound);
            });
            return new
            {
                boxes = boxes.Select(b => new
                {
                    box = new[] { b.Box.X, b.Box.Y, b.Box.Width, b.Box.Height }, score = b.Score, free_space = b.FreeSpace, support = b.Support,
                    scale = b.Scale, coverage = b.Coverage,
                }),
            };
        }).Accepts<Schemas.SuggestBoxesRequest>("application/json");
        ch.MapPost("/place", async (HttpRequest r, ServerContext c, CancellationToken ct) =>
        {
            var body = new Body(await SdApi.ReadJson(r), []);
            var warnings = new List<string>();
            var job = ReadPlacement(body, c, warnings);
            var document = new JobDocument { Place = JobMapping.FromJob(job, JobMapping.ByValue(c.Service.Paths)) };
            var result = await JobCalls.RunAsync(r.HttpContext, c, document, "place", ct);
            var ran = result.Parameters.Place!;
            var firstSeed = (uint)(ran.Seed ?? 0);
            return new
            {
                image = JobCalls.Base64(result.Images[0].Png), parameters = result.Images[0].Infotext,
                boxes = (ran.Boxes ?? []).Select((b, k) => new
                {
                    box = Xywh(PixelBox.Parse(b.Box)),
                    prompt = b.Prompt ?? ran.Prompt, seed = GenerationPolicy.SeedOf(firstSeed, k),
                    warnings = result.Warnings.Where(w => w.StartsWith($"box {k + 1}: ", StringComparison.Ordinal)).Select(w => w[$"box {k + 1}: ".Length..]),
                }),
                record = result.Parameters.ToJson(), warnings,
            };
        }).Accepts<Schemas.PlaceRequest>("application/json");
    }

    private static PlacementJob ReadPlacement(Body body, ServerContext c, List<string> warnings)
    {
        var background = body.Str("background");
        if (background is null) body.Errors.Add(new FieldError(["body", "background"], "field required: a base64 image", "value_error.missing"));
        var boxes = new List<BoxPlacement>();
        var list = body.Array("boxes") ?? [];
        if (list.Count == 0) body.Errors.Add(new FieldError(["body", "boxes"], "at least one box: {box: [x, y, w, h], prompt, units}", "value_error.missing"));
        if (list.Count > c.Limits.MaxBoxes)
        {
            body.Errors.Add(new FieldError(["body", "boxes"], $"{list.Count} boxes; the limit is {c.Limits.MaxBoxes} (the server's --limit max-boxes)", "value_error.list.max_items"));
            list = [];
        }
        for (var k = 0; k < list.Count; k++)
        {
            var b = new Body(list[k], body.Errors, "body", "boxes", k.ToString(CultureInfo.InvariantCulture));
            var box = ReadBox(b);
            var units = new List<UnitSpec>();
            foreach (var (u, i) in (b.Array("units") ?? []).Select((u, i) => (u, i)))
                if (SdRequests.ReadUnit(new Body(u, body.Errors, "body", "boxes", k.ToString(CultureInfo.InvariantCulture), "units", i.ToString(CultureInfo.InvariantCulture)),
                        i, c, warnings, null) is { } unit)
                    units.Add(unit);
            if (units.Count > c.Limits.MaxUnits)
                b.Errors.Add(new FieldError(b.LocOf("units"), $"{units.Count} enabled units; the limit is {c.Limits.MaxUnits} (the server's --limit max-units)", "value_error.list.max_items"));
            if (box is { } x) boxes.Add(new BoxPlacement { Box = x, Prompt = b.Prompt("prompt", c.Limits.MaxPromptChars), NegativePrompt = b.Prompt("negative_prompt", c.Limits.MaxPromptChars), Units = units });
        }
        var harmonize = body.Str("harmonize") ?? "off";
        if (!Enum.TryParse<Harmonization>(harmonize, ignoreCase: true, out var mode))
            body.Errors.Add(new FieldError(["body", "harmonize"], "off, reinhard or poisson", "value_error"));
        var job = new PlacementJob
        {
            Background = ImageSource.FromBase64(background ?? "", "background"), Boxes = boxes, Prompt = body.Prompt("prompt", c.Limits.MaxPromptChars),
            NegativePrompt = body.Prompt("negative_prompt", c.Limits.MaxPromptChars), Steps = body.Int("steps", 1, c.Limits.MaxSteps, "max-steps"), CfgScale = body.Num("cfg_scale", 0, 100),
            Sampler = body.Str("sampler_name"), Seed = body.Long("seed", -1, uint.MaxValue), Model = body.Str("model"),
            Padding = body.Int("padding", 0, 4096) ?? PlacementJob.DefaultPadding, Feather = body.Int("feather", 0, 256) ?? PlacementJob.DefaultFeather,
            Harmonize = mode, AllowOverlap = body.Bool("allow_overlap") ?? false, PreviewEvery = 5,
            Content = body.Int("inpainting_fill", 0, 3) is { } fill ? (MaskedContent)fill : null,
        };
        foreach (var key in body.Unread()) warnings.Add($"'{key}' is not a field ControlHost knows; it was ignored");
        body.ThrowIfInvalid();
        return job;
    }

    private static int[] Xywh(PixelBox box) => [box.X, box.Y, box.Width, box.Height];

    private static PixelBox? ReadBox(Body b)
    {
        if (!b.TryGet("box", out var v) || v.ValueKind == JsonValueKind.Null)
        {
            b.Errors.Add(new FieldError(b.LocOf("box"), "field required: [x, y, w, h] in background pixels", "value_error.missing"));
            return null;
        }
        if (v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 4 && v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out _)))
        {
            var n = v.EnumerateArray().Select(e => e.GetInt32()).ToArray();
            return new PixelBox(n[0], n[1], n[2], n[3]);
        }
        if (v.ValueKind == JsonValueKind.String)
            try
            {
                return PixelBox.Parse(v.GetString()!);
            }
            catch (FormatException e)
            {
                b.Errors.Add(new FieldError(b.LocOf("box"), e.Message, "value_error"));
                return null;
            }
        b.Errors.Add(new FieldError(b.LocOf("box"), "expected [x, y, w, h] (whole pixels) or \"x,y,w,h\"", "type_error"));
        return null;
    }
}
