using System.CommandLine;
using System.Diagnostics;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Plugins;
using Spectre.Console;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost generate: txt2img / img2img with stacked control units.</summary>
internal static class GenerateCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var prompt = new Option<string>("--prompt", "-p") { Description = "What to draw" };
        var from = new Option<string?>("--from") { Description = "Repeat a generation from a PNG's parameters (options given here override them)" };
        var negative = new Option<string>("--negative", "-n") { Description = "What to steer away from", DefaultValueFactory = _ => "" };
        var width = new Option<int>("--width", "-W") { Description = "Width in pixels (multiple of 8); default: the model's native size" };
        var height = new Option<int>("--height", "-H") { Description = "Height in pixels (multiple of 8); default: the model's native size" };
        var steps = new Option<int>("--steps") { Description = "Sampling steps", DefaultValueFactory = _ => 20 };
        var cfg = new Option<double>("--cfg")
        {
            Description = "Classifier-free guidance scale (1 skips the unconditional pass); default: the model's recommended scale (controlhost.json cfg_scale), else 7",
            DefaultValueFactory = _ => 7.0,
        };
        var sampler = new Option<string>("--sampler") { Description = "DDIM, Euler, Euler a, DPM++ 2M, DPM++ 2M Karras", DefaultValueFactory = _ => "Euler a" };
        var seed = new Option<long>("--seed") { Description = "Seed (0..4294967295); -1 picks one", DefaultValueFactory = _ => -1 };
        var model = new Option<string?>("--model") { Description = "Model folder or name (default: the embedded tiny-sd)" };
        var control = new Option<string[]>("--control", "-c")
        {
            Description = "A control unit: TYPE=IMAGE[,weight=W,start=S,end=E,mode=M,model=NAME,resize=R,mask=IMAGE,preprocess=none,resolution=N,OPTION=V]; repeat to stack",
            DefaultValueFactory = _ => [],
        };
        var init = new Option<string?>("--init") { Description = "img2img: the starting image" };
        var mask = new Option<string?>("--mask") { Description = "Inpainting mask for --init (white = generate, black = keep exactly)" };
        var strength = new Option<double>("--strength") { Description = "img2img: how much to re-noise (0..1)", DefaultValueFactory = _ => 0.75 };
        var device = new Option<DeviceChoice>("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => DeviceChoice.Auto };
        var threads = new Option<int>("--threads") { Description = "CPU threads for ONNX Runtime (0: its default)" };
        var output = new Option<string>("--out", "-o") { Description = "Output PNG", Required = true };
        var timings = new Option<bool>("--timings") { Description = "Print time inside the models vs outside, per step" };
        var plugins = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };

        var command = new Command("generate", "Generate an image");
        foreach (var o in new Option[] { prompt, negative, width, height, steps, cfg, sampler, seed, model, control, init, mask, strength, device, threads, output, timings, plugins, from })
            command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            var request = new GenerationRequest
            {
                Prompt = parse.GetValue(prompt) ?? "",
                NegativePrompt = parse.GetValue(negative) ?? "",
                Width = parse.GetValue(width),
                Height = parse.GetValue(height),
                Steps = parse.GetValue(steps),
                CfgScale = parse.GetValue(cfg),
                Sampler = parse.GetValue(sampler)!,
                Seed = parse.GetValue(seed),
                Strength = parse.GetValue(strength),
            };
            var modelName = parse.GetValue(model);
            var controls = parse.GetValue(control) ?? [];
            // A scale the user gave, or one read from --from's PNG, is kept; otherwise the model may recommend one.
            var cfgFixed = parse.GetResult(cfg) is { Implicit: false } || parse.GetValue(from) is not null;
            if (parse.GetValue(from) is { } source)
            {
                bool Given(Option o) => parse.GetResult(o) is { Implicit: false };
                (request, var fromModel) = FromPng.Apply(source, request, Given(prompt), Given(negative), Given(width) || Given(height),
                    Given(steps), Given(cfg), Given(sampler), Given(seed), Given(strength), controls.Length);
                if (!Given(model)) modelName = fromModel ?? modelName;
            }
            else if (request.Prompt.Length == 0) throw new UserError("--prompt is required (or --from FILE.png)");
            if (parse.GetValue(mask) is not null && parse.GetValue(init) is null) throw new UserError("--mask needs --init (the image to inpaint)");
            return Run(request, controls, parse.GetValue(init), parse.GetValue(mask), modelName, parse.GetValue(device),
                parse.GetValue(threads), parse.GetValue(output)!, parse.GetValue(timings), parse.GetValue(plugins), cfgFixed);
        }));
        return command;
    }

    private static int Run(GenerationRequest request, string[] controls, string? initPath, string? maskPath, string? modelName, DeviceChoice deviceChoice,
        int threads, string outPath, bool showTimings, string? pluginsDir, bool cfgFixed)
    {
        if (request.Validate() is { } problem) throw new UserError(problem);
        if (Engine.Scheduling.Samplers.Canonical(request.Sampler) is null)
            throw new UserError($"unknown sampler '{request.Sampler}' (known: {string.Join(", ", Engine.Scheduling.Samplers.Names)})");
        var outDir = Path.GetDirectoryName(Path.GetFullPath(outPath))!;
        if (!Directory.Exists(outDir)) throw new UserError($"--out: folder '{outDir}' does not exist");
        var specs = controls.Select(ControlSpec.Parse).ToArray();

        var clock = Stopwatch.StartNew();
        var catalog = ModelCatalog.Default();
        var folder = catalog.ResolveModel(modelName);
        if (!cfgFixed && folder.RecommendedCfg is { } recommended) request = request with { CfgScale = recommended };
        var device = ExecutionDevice.Resolve(deviceChoice, threads);
        if (device.Notice is not null) Console.Error.WriteLine($"note: {device.Notice}");
        using var sd = StableDiffusionModel.Load(folder, device);
        var width = request.Width == 0 ? folder.NativeSize : request.Width;
        var height = request.Height == 0 ? folder.NativeSize : request.Height;
        request = request with { Width = width, Height = height };
        if (initPath is not null) request = request with { InitImage = ImageIo.Load(initPath) };
        if (maskPath is not null) request = request with { Mask = ImageIo.Load(maskPath) };

        var unitRequests = specs.Select((s, i) =>
        {
            // OpenPose JSON is rendered here into the ready pose hint the pose ControlNet takes.
            var isPoseJson = s.ImagePath.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
            return new UnitRequest
            {
                Condition = s.Condition,
                Image = isPoseJson ? RenderPoseJson(s.ImagePath, i) : LoadControlImage(s.ImagePath, i),
                Options = s.Options, Weight = s.Weight, Start = s.Start, End = s.End, Mode = s.Mode, Model = s.Model,
                Resize = s.Resize, Preprocess = s.Preprocess && !isPoseJson, ProcessorResolution = s.ProcessorResolution,
                Mask = s.MaskPath is null ? null : LoadControlImage(s.MaskPath, i),
            };
        }).ToArray();
        using var pluginHost = PluginHost.LoadDefault(pluginsDir);
        foreach (var failed in pluginHost.Failed) Console.Error.WriteLine($"note: plugin {failed.Id ?? failed.Folder} not loaded: {failed.Reason}");
        var resolver = new UnitResolver(pluginHost.Registry, catalog);
        var units = resolver.Resolve(unitRequests, sd, width, height);
        foreach (var disabled in resolver.Disabled) Console.Error.WriteLine($"warning: {disabled}");
        var loadTime = clock.Elapsed;

        var pipeline = new DiffusionPipeline(sd);
        GenerationResult result = null!;
        if (Console.IsErrorRedirected || Console.IsOutputRedirected)
        {
            result = pipeline.Generate(request, units);
        }
        else
        {
            AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("denoising", maxValue: request.Steps);
                    var progress = new InlineProgress<StepProgress>(p =>
                    {
                        task.MaxValue = p.Steps;
                        task.Value = p.Step;
                        task.Description = $"step {p.Step}/{p.Steps}";
                    });
                    result = pipeline.Generate(request, units, progress);
                });
        }
        PngParameters.Save(result.Image, outPath, result.Infotext);
        Console.WriteLine($"saved {outPath} ({result.Image.Width}x{result.Image.Height}, seed {result.Seed}, " +
                          $"{result.Timings.Count} steps, {clock.Elapsed.TotalSeconds:0.00} s in all, models loaded in {loadTime.TotalSeconds:0.00} s)");
        if (showTimings) PrintTimings(result);
        return ExitCodes.Ok;
    }

    private static Abstractions.RgbImage LoadControlImage(string path, int index)
    {
        try
        {
            return ImageIo.Load(path);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or IOException)
        {
            throw new UserError($"unit {index + 1}: {e.Message}", e);
        }
    }

    private static Abstractions.RgbImage RenderPoseJson(string path, int index)
    {
        if (!File.Exists(path)) throw new UserError($"unit {index + 1}: '{path}' not found");
        var pose = Preprocessors.OpenPose.Parse(File.ReadAllText(path), path);
        return Preprocessors.OpenPose.Render(pose, pose.CanvasWidth, pose.CanvasHeight);
    }

    private static void PrintTimings(GenerationResult result)
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
}
