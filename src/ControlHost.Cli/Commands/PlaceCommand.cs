using ControlHost.Application.Jobs;
using System.CommandLine;
using System.Globalization;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Names;
using ControlHost.Application.Placement;
using ControlHost.Application.Sources;
using ControlHost.Engine.Imaging;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost place: objects generated inside boxes of a background (a thin adapter over <see cref="Placer"/>).</summary>
internal static class PlaceCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var background = new Option<string?>("--background", "-b") { Description = "The picture to place objects into" };
        var boxes = new Option<string[]>("--box") { Description = "A box x,y,w,h in background pixels; repeat for several objects", AllowMultipleArgumentsPerToken = false };
        var prompts = new Option<string[]>("--prompt", "-p") { Description = "The object's prompt: one for every box, or one per --box in order" };
        var negative = new Option<string?>("--negative", "-n") { Description = "What to steer away from" };
        var control = new Option<string[]>("--control", "-c")
        {
            Description = "A unit for the object: TYPE=IMAGE[,box=N,weight=W,...] (as generate's --control); the image shows the object alone and is fitted into the box; box=N (1-based) picks one box, else every box",
        };
        var padding = new Option<int?>("--padding") { Description = $"Context around the box the model sees, in pixels (default {PlacementJob.DefaultPadding})" };
        var feather = new Option<int?>("--feather") { Description = $"Soft band outside the box, in pixels (default {PlacementJob.DefaultFeather}); nothing beyond it changes" };
        var harmonize = new Option<string?>("--harmonize") { Description = "off (default), reinhard or poisson" };
        var steps = new Option<int?>("--steps") { Description = $"Sampling steps (default {GenerationPolicy.DefaultSteps})" };
        var cfg = new Option<double?>("--cfg") { Description = "Guidance scale (default: the model's recommendation)" };
        var sampler = new Option<string?>("--sampler") { Description = $"{string.Join(", ", SamplerNames.Names)} (default {SamplerNames.Default})" };
        var seed = new Option<long?>("--seed") { Description = "Seed of the first box (box k gets seed + k); -1 picks one" };
        var model = new Option<string?>("--model") { Description = "Model (default: tiny-sd-inpainting where present)" };
        var size = new Option<string?>("--size") { Description = "Working canvas WxH (default: the model's native size)" };
        var content = new Option<string?>("--masked-content") { Description = $"What the box starts from: {InpaintNames.ContentHelp}" };
        var overlap = new Option<bool>("--allow-overlap") { Description = "Let boxes overlap (a later box paints over an earlier one)" };
        var from = new Option<string?>("--from") { Description = "Repeat a placement from a PNG it wrote (options given here override)" };
        var output = new Option<string>("--out", "-o") { Description = "Output PNG", Required = true };
        var plugins = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };

        var command = new Command("place", "Generate objects inside boxes of a background; every pixel outside the boxes (and their feather band) stays as it was");
        foreach (var o in new Option[] { background, boxes, prompts, negative, control, padding, feather, harmonize, steps, cfg, sampler, seed, model, size,
                     content, overlap, from, output, plugins })
            command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            PlacementJob? recorded = null;
            if (parse.GetValue(from) is { } source)
            {
                var text = PngParameters.Read(source, PlacementRecord.Keyword)
                           ?? throw new UserError($"--from: '{source}' has no '{PlacementRecord.Keyword}' record (was it made by 'controlhost place'?)");
                var record = PlacementRecord.Read(text, source, PathPolicy.Local);
                recorded = JobMapping.ToJob(record.Place!, CliJobs.ImagesOf(record, source));
            }
            var job = Job(parse, recorded, background, boxes, prompts, negative, control, padding, feather, harmonize, steps, cfg, sampler, seed, model, size,
                content, overlap);
            var outPath = parse.GetValue(output)!;
            var outDir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
            if (!Directory.Exists(outDir)) throw new UserError($"--out: folder '{outDir}' does not exist");
            using var service = new GenerationService(new ServiceOptions { ExtraPluginFolder = parse.GetValue(plugins), Paths = PathPolicy.Local });
            foreach (var notice in service.Notices) Console.Error.WriteLine($"note: {notice}");
            var document = new JobDocument { Place = JobMapping.FromJob(job, JobMapping.ByValue(service.Paths)) };
            var result = CliJobs.Run(service, document).Result;
            foreach (var warning in result.Warnings) Console.Error.WriteLine($"warning: {warning}");
            File.WriteAllBytes(outPath, result.Images[0].Png.Data!);
            var seeds = result.Parameters.Place!.Seed;
            Console.WriteLine($"saved {outPath} ({document.Place.Boxes!.Count} box(es), first seed {seeds}, {result.TotalSeconds:0.00} s)");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static PlacementJob Job(ParseResult parse, PlacementJob? recorded, Option<string?> background, Option<string[]> boxes, Option<string[]> prompts,
        Option<string?> negative, Option<string[]> control, Option<int?> padding, Option<int?> feather, Option<string?> harmonize, Option<int?> steps,
        Option<double?> cfg, Option<string?> sampler, Option<long?> seed, Option<string?> model, Option<string?> size, Option<string?> content, Option<bool> overlap)
    {
        var boxTexts = parse.GetValue(boxes) ?? [];
        var promptTexts = parse.GetValue(prompts) ?? [];
        var given = boxTexts.Select(t =>
        {
            try
            {
                return PixelBox.Parse(t);
            }
            catch (FormatException e)
            {
                throw new UserError($"--box: {e.Message}");
            }
        }).ToList();
        var boxList = given.Count > 0
            ? given.Select(b => new BoxPlacement { Box = b }).ToList()
            : recorded?.Boxes.ToList() ?? throw new UserError("--box is required (x,y,w,h; or --from FILE.png)");
        if (promptTexts.Length > 1 && promptTexts.Length != boxList.Count)
            throw new UserError($"{promptTexts.Length} prompts for {boxList.Count} boxes: give one prompt for all, or one per box in order");
        if (promptTexts.Length > 1) boxList = boxList.Select((b, k) => b with { Prompt = promptTexts[k] }).ToList();
        var units = (parse.GetValue(control) ?? []).Select(c =>
        {
            var spec = ControlSpec.Parse(c);
            int? target = null;
            if (spec.Options.TryGetValue("box", out var n))
            {
                if (!int.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out var k) || k < 1 || k > boxList.Count)
                    throw new UserError($"--control '{c}': box={n} (1..{boxList.Count})");
                target = k - 1;
                spec = spec with { Unit = spec.Unit with { Options = spec.Options.Where(kv => kv.Key != "box").ToDictionary(kv => kv.Key, kv => kv.Value) } };
            }
            return (Target: target, Unit: spec.ToUnit());
        }).ToList();
        if (units.Count > 0)
            boxList = boxList.Select((b, k) => b with { Units = units.Where(u => u.Target is null || u.Target == k).Select(u => u.Unit).ToList() }).ToList();
        int? width = null, height = null;
        if (parse.GetValue(size) is { } wh)
        {
            var parts = wh.ToLowerInvariant().Split('x');
            if (parts.Length != 2 || !int.TryParse(parts[0], out var w) || !int.TryParse(parts[1], out var h)) throw new UserError($"--size '{wh}': expected WxH, e.g. 128x128");
            (width, height) = (w, h);
        }
        var harmonizeText = parse.GetValue(harmonize);
        var baseJob = recorded ?? new PlacementJob
        {
            Background = ImageSource.FromPath(parse.GetValue(background) ?? throw new UserError("--background is required (or --from FILE.png)")),
            Boxes = boxList,
        };
        return baseJob with
        {
            Background = parse.GetValue(background) is { } bg ? ImageSource.FromPath(bg) : baseJob.Background,
            Boxes = boxList,
            Prompt = promptTexts.Length == 1 ? promptTexts[0] : baseJob.Prompt,
            NegativePrompt = parse.GetValue(negative) ?? baseJob.NegativePrompt,
            Padding = parse.GetValue(padding) ?? baseJob.Padding,
            Feather = parse.GetValue(feather) ?? baseJob.Feather,
            Harmonize = harmonizeText is null ? baseJob.Harmonize
                : Enum.TryParse<Harmonization>(harmonizeText, ignoreCase: true, out var mode) ? mode
                : throw new UserError($"--harmonize '{harmonizeText}': expected off, reinhard or poisson"),
            Steps = parse.GetValue(steps) ?? baseJob.Steps, CfgScale = parse.GetValue(cfg) ?? baseJob.CfgScale,
            Sampler = parse.GetValue(sampler) ?? baseJob.Sampler, Seed = parse.GetValue(seed) ?? baseJob.Seed,
            Model = parse.GetValue(model) ?? baseJob.Model, Width = width ?? baseJob.Width, Height = height ?? baseJob.Height,
            Content = parse.GetValue(content) is { } c ? InpaintNames.TryParseContent(c) ?? throw new UserError($"--masked-content '{c}': {InpaintNames.ContentHelp}") : baseJob.Content,
            AllowOverlap = parse.GetValue(overlap) || baseJob.AllowOverlap,
        };
    }
}
