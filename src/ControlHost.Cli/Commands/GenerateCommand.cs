using ControlHost.Application.Jobs;
using ControlHost.Application.Inpainting;
using System.CommandLine;
using ControlHost.Application.Generation;
using ControlHost.Application.UserModels;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Onnx;
using Spectre.Console;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost generate: flags -> a generation job -> the application layer's service -> PNG files.</summary>
internal static class GenerateCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var prompt = new Option<string?>("--prompt", "-p") { Description = "What to draw" };
        var from = new Option<string?>("--from") { Description = "Repeat a generation from a PNG's parameters (options given here override them)" };
        var negative = new Option<string?>("--negative", "-n") { Description = "What to steer away from" };
        var width = new Option<int?>("--width", "-W") { Description = "Width in pixels (multiple of 8); default: the model's native size" };
        var height = new Option<int?>("--height", "-H") { Description = "Height in pixels (multiple of 8); default: the model's native size" };
        var steps = new Option<int?>("--steps") { Description = $"Sampling steps (default {GenerationPolicy.DefaultSteps})" };
        var cfg = new Option<double?>("--cfg")
        {
            Description = "Classifier-free guidance scale (1 skips the unconditional pass); default: the model's recommended scale (controlhost.json cfg_scale), else 7",
        };
        var sampler = new Option<string?>("--sampler") { Description = $"{string.Join(", ", SamplerNames.Names)} (default {SamplerNames.Default})" };
        var seed = new Option<long?>("--seed") { Description = "Seed (0..4294967295); -1 (the default) picks one" };
        var batchSize = new Option<int?>("--batch-size") { Description = "Images per run (A1111's batch_size); image k gets seed + k" };
        var iterations = new Option<int?>("--n-iter") { Description = "Runs of --batch-size images (A1111's n_iter)" };
        var model = new Option<string?>("--model") { Description = "Model folder, name or .safetensors checkpoint (default: the embedded tiny-sd)" };
        var modelsDir = new Option<string?>("--models-dir") { Description = "A models folder to search first (an A1111 or ComfyUI installation's models/)" };
        var lora = new Option<string[]>("--lora") { Description = "A LoRA to apply, NAME[:WEIGHT] (repeatable; or <lora:NAME:WEIGHT> in the prompt)", AllowMultipleArgumentsPerToken = false };
        var control = new Option<string[]>("--control", "-c")
        {
            Description = "A control unit: TYPE=IMAGE[,weight=W,start=S,end=E,mode=M,model=NAME,resize=R,mask=IMAGE,preprocess=none,resolution=N,OPTION=V]; repeat to stack",
            DefaultValueFactory = _ => [],
        };
        var init = new Option<string?>("--init") { Description = "img2img: the starting image" };
        var mask = new Option<string?>("--mask") { Description = "Inpainting mask for --init (white = generate, black = keep exactly)" };
        var maskBox = new Option<string?>("--mask-box") { Description = "Inpainting region as a box x,y,w,h in pixels of --init (instead of --mask)" };
        var maskPolygon = new Option<string?>("--mask-polygon") { Description = "Inpainting region as a polygon \"x1,y1 x2,y2 x3,y3 ...\" (instead of --mask)" };
        var maskBlur = new Option<double?>("--mask-blur") { Description = $"Gaussian blur of the mask, sigma in pixels (A1111's mask_blur, default {InpaintSpec.DefaultMaskBlur})" };
        var invertMask = new Option<bool>("--invert-mask") { Description = "Generate where the mask is black instead" };
        var maskedContent = new Option<string?>("--masked-content") { Description = $"What the region starts from: {InpaintNames.ContentHelp}; default original" };
        var onlyMasked = new Option<bool>("--only-masked") { Description = "Generate a crop around the mask at the working size and paste it back (A1111's inpaint_full_res)" };
        var padding = new Option<int?>("--padding") { Description = $"--only-masked: context around the mask in pixels (default {InpaintSpec.DefaultPadding})" };
        var strength = new Option<double?>("--strength") { Description = $"img2img: how much to re-noise (0..1, default {GenerationPolicy.DefaultStrength})" };
        var device = new Option<DeviceChoice>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => DeviceChoice.Auto };
        var threads = new Option<int>("--threads") { Description = "CPU threads for ONNX Runtime (0: its default)" };
        var output = new Option<string>("--out", "-o") { Description = "Output PNG (several images: NAME-1.png, NAME-2.png, ...)", Required = true };
        var timings = new Option<bool>("--timings") { Description = "Print time inside the models vs outside, per step" };
        var plugins = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };
        var hiresScale = new Option<double?>("--hires-scale") { Description = "Hires fix (txt2img): make the image at --width x --height, upscale it by this (1..4) and denoise again" };
        var hiresResize = new Option<string?>("--hires-resize") { Description = "Hires fix to a size WxH instead of a scale (0 for a side keeps the aspect; both: scaled to cover and cropped)" };
        var hiresUpscaler = new Option<string?>("--hires-upscaler") { Description = $"Hires fix upscaler: {string.Join(", ", HiresSpec.UpscalerNames)} (default {HiresSpec.DefaultUpscaler})" };
        var hiresSteps = new Option<int?>("--hires-steps") { Description = "Hires fix second-pass steps (default: --steps)" };
        var hiresDenoise = new Option<double?>("--hires-denoise") { Description = $"Hires fix denoising strength (0..1, default {HiresSpec.DefaultStrength})" };
        var hiresPrompt = new Option<string?>("--hires-prompt") { Description = "Hires fix second-pass prompt (default: --prompt)" };
        var hiresNegative = new Option<string?>("--hires-negative") { Description = "Hires fix second-pass negative prompt (default: --negative)" };
        var hiresSampler = new Option<string?>("--hires-sampler") { Description = "Hires fix second-pass sampler (default: --sampler)" };

        var command = new Command("generate", "Generate an image");
        foreach (var o in new Option[] { prompt, negative, width, height, steps, cfg, sampler, seed, batchSize, iterations, model, control, init, mask,
                     maskBox, maskPolygon, maskBlur, invertMask, maskedContent, onlyMasked, padding,
                     strength, device, threads, output, timings, plugins, from, modelsDir, lora,
                     hiresScale, hiresResize, hiresUpscaler, hiresSteps, hiresDenoise, hiresPrompt, hiresNegative, hiresSampler })
            command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            var given = new GenerationJob
            {
                Prompt = parse.GetValue(prompt), NegativePrompt = parse.GetValue(negative), Width = parse.GetValue(width),
                Height = parse.GetValue(height), Steps = parse.GetValue(steps), CfgScale = parse.GetValue(cfg), Sampler = parse.GetValue(sampler),
                Seed = parse.GetValue(seed), BatchSize = parse.GetValue(batchSize), Iterations = parse.GetValue(iterations),
                Model = parse.GetValue(model), Strength = parse.GetValue(strength),
                InitImage = parse.GetValue(init) is { } i ? ImageSource.FromPath(i) : null,
                Mask = parse.GetValue(mask) is { } m ? ImageSource.FromPath(m) : null,
                Units = (parse.GetValue(control) ?? []).Select(c => ControlSpec.Parse(c).ToUnit()).ToArray(),
                Loras = (parse.GetValue(lora) ?? []).Select(ParseLora).ToArray(),
                Inpaint = InpaintOptions(parse.GetValue(maskBox), parse.GetValue(maskPolygon), parse.GetValue(maskBlur), parse.GetValue(invertMask),
                    parse.GetValue(maskedContent), parse.GetValue(onlyMasked), parse.GetValue(padding)),
                Hires = HiresOptions(parse.GetValue(hiresScale), parse.GetValue(hiresResize), parse.GetValue(hiresUpscaler), parse.GetValue(hiresSteps),
                    parse.GetValue(hiresDenoise), parse.GetValue(hiresPrompt), parse.GetValue(hiresNegative), parse.GetValue(hiresSampler)),
            };
            var job = given;
            if (parse.GetValue(from) is { } source)
            {
                // A PNG this host wrote holds the job as run (its images by hash); any other A1111 PNG its infotext.
                if (CliJobs.ReadRecord(source) is { Generate: { } recordedDocument } record)
                    job = JobMapping.ToJob(recordedDocument, CliJobs.ImagesOf(record, source)).OverriddenBy(given);
                else
                {
                    var text = PngParameters.Read(source) ?? throw new UserError($"--from: '{source}' has no 'parameters' text chunk");
                    var (recorded, notes) = Infotext.ReadJob(text, source);
                    job = recorded.OverriddenBy(given);
                    if (given.Units is not { Count: > 0 })
                        foreach (var note in notes) Console.Error.WriteLine($"note: {note}");
                }
            }
            else if (string.IsNullOrEmpty(job.Prompt)) throw new UserError("--prompt is required (or --from FILE.png)");
            if ((job.Mask is not null || job.Inpaint is not null) && job.InitImage is null)
                throw new UserError("--mask needs --init (the image to inpaint), as do the other inpainting options");
            var outPath = parse.GetValue(output)!;
            var outDir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
            if (!Directory.Exists(outDir)) throw new UserError($"--out: folder '{outDir}' does not exist");

            using var service = new GenerationService(new ServiceOptions
            {
                Device = parse.GetValue(device), Threads = parse.GetValue(threads), ExtraPluginFolder = parse.GetValue(plugins),
                Paths = PathPolicy.Local, ExtraModelRoot = parse.GetValue(modelsDir),
            });
            foreach (var notice in service.Notices) Console.Error.WriteLine($"note: {notice}");
            var document = new JobDocument { Generate = JobMapping.FromJob(job, JobMapping.ByValue(service.Paths)) };
            var run = Run(service, document, job.Steps);
            var result = run.Generation!;
            foreach (var warning in result.Warnings) Console.Error.WriteLine($"warning: {warning}");
            var paths = OutputPaths(outPath, result.Images.Count);
            for (var k = 0; k < result.Images.Count; k++)
            {
                var image = result.Images[k];
                // The runner's PNG: A1111's parameters and the job as run.
                File.WriteAllBytes(paths[k], run.Result.Images[k].Png.Data!);
                Console.WriteLine($"saved {paths[k]} ({image.Image.Width}x{image.Image.Height}, seed {image.Seed}, " +
                                  $"{image.Engine.Timings.Count} steps, {result.Timings.Total.TotalSeconds:0.00} s in all, models loaded in {result.Timings.Load.TotalSeconds:0.00} s)");
            }
            if (parse.GetValue(timings)) PrintTimings(result.Images[0].Engine);
            return ExitCodes.Ok;
        }));
        return command;
    }

    /// <summary>The --hires-* options as a hires fix, or null when none is given.</summary>
    private static HiresSpec? HiresOptions(double? scale, string? resize, string? upscaler, int? steps, double? denoise, string? prompt, string? negative, string? sampler)
    {
        if (scale is null && resize is null && upscaler is null && steps is null && denoise is null && prompt is null && negative is null && sampler is null) return null;
        int? x = null, y = null;
        if (resize is not null)
        {
            var parts = resize.ToLowerInvariant().Split('x');
            if (parts.Length != 2 || !int.TryParse(parts[0], out var w) || !int.TryParse(parts[1], out var h) || w < 0 || h < 0 || w + h == 0)
                throw new UserError($"--hires-resize {resize}: expected WxH in pixels (0 for a side keeps the aspect), e.g. 1024x0");
            (x, y) = (w, h);
        }
        return new HiresSpec
        {
            Scale = scale ?? 2, ResizeX = x, ResizeY = y, Upscaler = upscaler ?? HiresSpec.DefaultUpscaler, Steps = steps, Strength = denoise,
            Prompt = prompt, NegativePrompt = negative, Sampler = sampler,
        };
    }

    /// <summary>--lora NAME[:WEIGHT]: weight 1 when left out, as in A1111's prompt syntax.</summary>
    private static LoraSpec ParseLora(string text)
    {
        var colon = text.LastIndexOf(':');
        if (colon <= 0) return new LoraSpec(text, 1);
        if (!double.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var weight))
            throw new UserError($"--lora {text}: the weight after ':' is not a number (NAME:WEIGHT, e.g. detail:0.7)");
        return new LoraSpec(text[..colon], weight);
    }

    private static JobRun Run(GenerationService service, JobDocument document, int? steps)
    {
        if (Console.IsErrorRedirected || Console.IsOutputRedirected) return CliJobs.Run(service, document);
        JobRun result = null!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("denoising", maxValue: steps ?? GenerationPolicy.DefaultSteps);
                var progress = new InlineProgress<GenerationProgress>(p =>
                {
                    task.MaxValue = p.Steps * p.Images;
                    task.Value = (p.Image - 1) * p.Steps + p.Step;
                    task.Description = p.Images == 1 ? $"step {p.Step}/{p.Steps}" : $"image {p.Image}/{p.Images} step {p.Step}/{p.Steps}";
                });
                result = CliJobs.Run(service, document, progress);
            });
        return result;
    }

    /// <summary>One image: the path given; several: NAME-1.png, NAME-2.png, ... beside it.</summary>
    private static string[] OutputPaths(string outPath, int count)
    {
        if (count == 1) return [outPath];
        var stem = Path.Combine(Path.GetDirectoryName(outPath) ?? "", Path.GetFileNameWithoutExtension(outPath));
        var ext = Path.GetExtension(outPath);
        return Enumerable.Range(1, count).Select(k => $"{stem}-{k}{ext}").ToArray();
    }

    private static void PrintTimings(Engine.Pipeline.GenerationResult result)
    {
        var n = result.Timings.Count;
        if (n == 0) return;
        var model = result.Timings.Average(t => t.InModel.TotalMilliseconds);
        var outside = result.Timings.Average(t => t.Outside.TotalMilliseconds);
        Console.WriteLine($"timings: {n} steps; per step {model:0.00} ms in models, {outside:0.00} ms outside " +
                          $"({100 * outside / (model + outside):0.0}% outside); text encoding {result.TextEncoding.TotalMilliseconds:0.0} ms, " +
                          $"VAE decode {result.Decoding.TotalMilliseconds:0.0} ms");
        for (var i = 0; i < n; i++)
            Console.WriteLine($"  step {i + 1,3}: model {result.Timings[i].InModel.TotalMilliseconds,8:0.00} ms  outside {result.Timings[i].Outside.TotalMilliseconds,8:0.00} ms");
    }

    /// <summary>IProgress that calls back on the reporting thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    /// <summary>The inpainting options given, or null when none is (a plain --mask then means A1111's defaults).</summary>
    private static InpaintSpec? InpaintOptions(string? box, string? polygon, double? blur, bool invert, string? content, bool onlyMasked, int? padding)
    {
        if (box is null && polygon is null && blur is null && !invert && content is null && !onlyMasked && padding is null) return null;
        return new InpaintSpec
        {
            Box = box is null ? null : ParseBox(box),
            Polygon = polygon is null ? null : ParsePolygon(polygon),
            MaskBlur = blur, Invert = invert, OnlyMasked = onlyMasked, Padding = padding,
            Content = content is null ? null : InpaintNames.TryParseContent(content) ?? throw new UserError($"--masked-content '{content}': expected {InpaintNames.ContentHelp}"),
        };
    }

    private static PixelBox ParseBox(string text)
    {
        try
        {
            return PixelBox.Parse(text);
        }
        catch (FormatException e)
        {
            throw new UserError($"--mask-box: {e.Message}");
        }
    }

    private static (double X, double Y)[] ParsePolygon(string text) =>
        text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var xy = p.Split(',');
            if (xy.Length != 2 || !double.TryParse(xy[0], System.Globalization.CultureInfo.InvariantCulture, out var x)
                || !double.TryParse(xy[1], System.Globalization.CultureInfo.InvariantCulture, out var y))
                throw new UserError($"--mask-polygon: '{p}' is not x,y");
            return (x, y);
        }).ToArray();
}
