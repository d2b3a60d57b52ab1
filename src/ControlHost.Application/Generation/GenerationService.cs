using System.Diagnostics;
using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Models;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Application.UserModels;
using ControlHost.Checkpoints;
using ControlHost.Checkpoints.Additions;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Plugins;

namespace ControlHost.Application.Generation;

/// <summary>
/// The one composition root: the model catalog and pool, the plugin registry (loaded once per process), the
/// policies, and generation as one job in, one result out. The CLI, the server, the benchmarks, the evaluator and
/// the tests all go through it.
/// <para>
/// Concurrency: generations run concurrently, each on the thread that calls <see cref="Generate"/> (or a pool
/// thread for <see cref="GenerateAsync"/>). They share loaded sessions; each session runs one call at a time, so
/// two generations on one model interleave step by step and each gets the same bytes as alone. Nothing in a
/// generation is shared but the read-only registry and the locked caches.
/// </para>
/// </summary>
public sealed class GenerationService : IDisposable
{
    private readonly ServiceOptions _options;
    private readonly Lazy<PluginHost> _plugins;
    private readonly Lazy<ModelPool> _pool;

    public GenerationService(ServiceOptions? options = null)
    {
        _options = options ?? new ServiceOptions();
        _catalog = ScanCatalog();
        Built = new BuiltModelCache(_options.CacheRoot ?? BuiltModelCache.DefaultRoot, TokenizerTables(_catalog));
        _catalog.Builder = Built;
        // The device probe and the pool wait for the first generation: detect and list commands need neither.
        _pool = new Lazy<ModelPool>(() => new ModelPool(ResolveDevice(), _options.ModelMemoryBudget ?? ModelPool.DefaultBudgetBytes),
            LazyThreadSafetyMode.ExecutionAndPublication);
        _plugins = new Lazy<PluginHost>(LoadPlugins, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    private volatile ModelCatalog _catalog;

    /// <summary>What the model roots held when last scanned (at start, or at <see cref="RefreshCatalog"/>).</summary>
    public ModelCatalog Catalog => _catalog;

    private ModelCatalog ScanCatalog() => _options.ModelRoots is { } roots ? new ModelCatalog(roots) : ModelCatalog.Default(_options.ExtraModelRoot);

    /// <summary>Scans the model roots again (A1111's refresh-checkpoints and refresh-loras): files added or removed since.
    /// Jobs already running keep the catalog they started with.</summary>
    public void RefreshCatalog()
    {
        var fresh = ScanCatalog();
        fresh.Builder = Built;
        _catalog = fresh;
    }

    /// <summary>The folders built from users' .safetensors files.</summary>
    public BuiltModelCache Built { get; }

    /// <summary>CLIP's tokenizer tables for models built from checkpoints: the embedded model's (the real CLIP BPE tables).</summary>
    private static string TokenizerTables(ModelCatalog catalog)
    {
        var embedded = catalog.Models.FirstOrDefault(m => Path.GetFileName(m) == ModelCatalog.DefaultModelName)
            ?? (ModelCatalog.FindRepositoryModels() is { } repo ? Path.Combine(repo, ModelCatalog.DefaultModelName) : null);
        return Path.Combine(embedded ?? catalog.Models.FirstOrDefault() ?? ".", "tokenizer");
    }
    public ModelPool Pool => _pool.Value;
    public ExecutionDevice Device => Pool.Device;
    public PathPolicy Paths => _options.Paths;

    /// <summary>How large a job's images may be, before and after each resize.</summary>
    public ImageBudget Images => _options.Images;

    /// <summary>Runs preprocessors by name, under this service's path policy and image budget.</summary>
    public Detection.Detector Detector() => new(() => Conditions, Paths, Images, () => Catalog.Roots);

    /// <summary>A module by any name users give it: a condition type's, or one of sd-webui-controlnet's with a user's
    /// estimator under annotators/ (null: neither; <see cref="ModuleMissing"/> says what an extension name needs).</summary>
    public IConditionType? FindModule(string name) => Detection.ExtensionModules.Resolve(Conditions, Catalog.Roots, name);

    public string? ModuleMissing(string name) => Detection.ExtensionModules.Missing(name, Catalog.Roots);

    /// <summary>The plugins, loaded on first use and kept for the life of the service.</summary>
    public PluginHost Plugins => _plugins.Value;
    public ConditionRegistry Conditions => Plugins.Registry;

    /// <summary>Things the user should know about the set-up: the device fallback, plugins that did not load.</summary>
    public IReadOnlyList<string> Notices =>
        (Device.Notice is null ? [] : new[] { Device.Notice })
        .Concat(Plugins.Failed.Select(f => $"plugin {f.Id ?? f.Folder} not loaded: {f.Reason}")).ToArray();

    private ExecutionDevice ResolveDevice()
    {
        try
        {
            return ExecutionDevice.Resolve(_options.Device, _options.Threads);
        }
        catch (InvalidOperationException e)
        {
            // A device asked for by name that this machine cannot give is the caller's choice to change.
            throw new BadInputException("device", e.Message, e);
        }
    }

    private PluginHost LoadPlugins()
    {
        var host = new PluginHost(new ConditionRegistry());
        host.LoadFrom(_options.PluginFolders ?? PluginHost.DefaultFolders(_options.ExtraPluginFolder));
        return host;
    }

    /// <summary>A model folder by name (or folder, where the path policy allows).</summary>
    /// <exception cref="NotFoundException">No such model; the message lists those found.</exception>
    public ModelFolder ResolveModel(string? nameOrPath)
    {
        if (nameOrPath is not null && PathPolicy.LooksLikePath(nameOrPath)) Paths.CheckPath("model", nameOrPath);
        try
        {
            return Catalog.ResolveModel(nameOrPath);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new NotFoundException("model", e.Message, Catalog.Models.Select(Path.GetFileName)!, e);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new BadInputException("model", e.Message, e);
        }
    }

    /// <summary>Runs a job on a pool thread.</summary>
    public Task<GenerationOutput> GenerateAsync(GenerationJob job, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellation = default) =>
        Task.Run(() => Generate(job, progress, cancellation), cancellation);

    /// <summary>Runs a job on the calling thread.</summary>
    /// <exception cref="ServiceException">Bad input, something not found, or an internal fault; typed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public GenerationOutput Generate(GenerationJob job, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default) =>
        Generate(job, progress, cancellation, null);

    /// <summary>Runs a job that <paramref name="control"/> can interrupt (the images so far come back) or skip an
    /// image of (the job goes on with the next).</summary>
    public GenerationOutput Generate(GenerationJob job, IProgress<GenerationProgress>? progress, CancellationToken cancellation, JobControl? control)
    {
        var clock = Stopwatch.StartNew();
        var folder = ResolveModel(job.Model);
        var writtenPrompt = job.Prompt;
        var (modelPrompt, promptLoras) = Failures.Guard("prompt", () => LoraTags.Extract(job.Prompt ?? ""));
        var negative = LoraTags.Extract(job.NegativePrompt ?? "").Prompt;
        if (promptLoras.Count > 0 || job.NegativePrompt != negative) job = job with { Prompt = modelPrompt, NegativePrompt = negative };
        var loras = (job.Loras ?? []).Concat(promptLoras).ToList();
        var request = GenerationPolicy.Request(job, folder);
        var (batchSize, iterations) = GenerationPolicy.Batches(job, _options.MaxImagesPerJob);
        var firstSeed = GenerationPolicy.FirstSeed(job.Seed);
        var effective = new EffectiveParameters(request.Width, request.Height, request.Steps, request.CfgScale, SamplerNames.Format(request.Sampler),
            firstSeed, batchSize, iterations, job.InitImage is null ? null : request.Strength);
        var init = job.InitImage?.Load(Paths, "init image", Images);
        var plan = InpaintingOf(job, init, request.Width, request.Height);
        request = plan is null
            ? request with { InitImage = init }
            : request with { InitImage = plan.WorkingInit, Mask = plan.WorkingMask, MaskedStart = plan.LatentStart };
        if (request.Validate() is { } problem) throw new BadInputException(request.Mask is not null ? "mask" : null, problem);
        var hires = HiresFix.For(job, request, Images, Catalog.Files.Upscalers, folder.Family);

        var (additionsKey, makeAdditions, loraFiles, hold) = Additions(folder, loras, cancellation);
        using var turn = hold;
        using var lease = Failures.Guard("model", () => Pool.Acquire(folder, additionsKey, makeAdditions));
        var model = lease.Model;
        var notes = model.Additions.Notes.Concat((hold as GateHold)?.Warnings ?? []).ToList();
        // Inpainting moves every unit's image onto the working canvas with the job's one transform.
        var specs = (job.Units ?? []).Select((u, i) => plan is null ? u : plan.OnCanvas(u, i, Paths, IsSpatial(u), Images)).ToList();
        // With the hires fix, each pass has its own units (hr_option), each fitted to its pass's size.
        var resolver = new UnitResolver(Conditions, Catalog, Paths, Images);
        var (units, disabled) = Failures.Guard("units", () => resolver.Resolve(
            hires is null ? specs : specs.Where(s => s.Pass != HiresPass.HighResOnly).ToList(), model, request.Width, request.Height, cancellation, firstSeed));
        var (hiresUnits, hiresDisabled) = hires is null ? ([], []) : Failures.Guard("units", () => resolver.Resolve(
            specs.Where(s => s.Pass != HiresPass.LowResOnly).ToList(), model, hires.Width, hires.Height, cancellation, firstSeed));
        try
        {
            var load = clock.Elapsed;
            var pipeline = new DiffusionPipeline(model);
            var count = batchSize * iterations;
            var images = new List<GeneratedImage>(count);
            for (var k = 0; k < count; k++)
            {
                var one = request with { Seed = GenerationPolicy.SeedOf(firstSeed, k) };
                // Progress counts both passes' steps as one run.
                var secondSteps = hires?.ExecutedSteps(one) ?? 0;
                var stepProgress = progress is null ? null : new StepReporter(progress, k + 1, count, 0, one.Steps + secondSteps);
                if (control?.Interrupted == true) break;
                using var imageToken = control?.ForImage(cancellation);
                Engine.Pipeline.GenerationResult result;
                try
                {
                    result = Failures.Guard(null, () => pipeline.Generate(one, units, stepProgress, imageToken?.Token ?? cancellation,
                        control?.InterruptToken ?? CancellationToken.None));
                    if (hires is not null && result.StoppedAfter is null)
                    {
                        var second = hires.SecondPass(one, result);
                        var secondProgress = progress is null ? null : new StepReporter(progress, k + 1, count, one.Steps, one.Steps + secondSteps);
                        result = Failures.Guard(null, () => pipeline.Generate(second, hiresUnits, secondProgress, imageToken?.Token ?? cancellation,
                            control?.InterruptToken ?? CancellationToken.None));
                    }
                }
                catch (OperationCanceledException) when (control is not null && !cancellation.IsCancellationRequested && control.Skipped(imageToken!))
                {
                    continue;
                }
                var image = plan is null ? result.Image : plan.Paste(result.Decoded);
                // With the hires fix, Size is the first pass's and the Hires fields say the rest (as A1111 writes it).
                var recorded = hires is null ? one with { Width = result.Image.Width, Height = result.Image.Height } : one;
                var infotext = Infotext.Format(recorded with { Prompt = writtenPrompt ?? one.Prompt },
                    model.Name, hires is null || units.Count > 0 ? units : hiresUnits, batchSize, k % batchSize,
                    (plan?.InfotextPairs() ?? []).Concat(hires?.InfotextPairs(one) ?? []).Concat(LoraPairs(loraFiles)));
                images.Add(new GeneratedImage(image, one.Seed, infotext, result));
                if (result.StoppedAfter is { } done)
                    notes.Add($"interrupted after {done} sampling steps: image {k + 1} (seed {one.Seed}) is partly denoised");
            }
            return new GenerationOutput(images, notes.Concat(disabled).Concat(hiresDisabled.Except(disabled)).ToList(), model.Name, new JobTimings(load, clock.Elapsed))
            {
                Effective = effective,
                // The first pass's hints (the second pass's when every unit runs at high resolution only).
                DetectedMaps = (units.Count > 0 || hires is null ? units : hiresUnits).Select(u => u.DetectedMap).OfType<RgbImage>().ToList(),
            };
        }
        finally
        {
            foreach (var u in units.Concat(hiresUnits)) u.Branch.Dispose();
        }
    }

    /// <summary>
    /// The LoRAs (by name, in the Lora/ folders) and embeddings (every file in the embeddings/ folders) for a model
    /// built from a checkpoint: the pool key, how to make the additions, and a hold to keep for the generation. A plain
    /// ONNX folder takes no LoRA (its weights are not the checkpoint's names).
    /// <para>
    /// Without LoRAs the sessions are the plain ones (fully optimised). With LoRAs, one pair of sessions per checkpoint
    /// reads every LoRA-reachable weight from buffers that a switch rewrites in place (<see cref="LiveLoraWeights"/>):
    /// generations with LoRAs on one checkpoint take turns on those buffers (the hold), and a switch re-merges only the
    /// weights the old or the new set touches.
    /// </para>
    /// </summary>
    private (string Key, Func<ModelAdditions> Make, IReadOnlyList<(string Name, string File, double Weight)> Loras, IDisposable? Hold)
        Additions(ModelFolder folder, List<LoraSpec> loras, CancellationToken cancellation)
    {
        var source = Built.SourceOf(folder.Root);
        if (source is null)
        {
            if (loras.Count > 0)
                throw new BadInputException("lora", $"LoRAs apply to models loaded from a .safetensors checkpoint; '{folder.Name}' is an ONNX folder (load the checkpoint it came from)");
            return ("", () => ModelAdditions.None, [], null);
        }
        var files = loras.Where(l => l.Weight != 0).Select(l => (l.Name, File: UserFiles.Find(Catalog.Files.Loras, l.Name)
            ?? throw new NotFoundException("lora", $"LoRA '{l.Name}' not found (found: {string.Join(", ", Catalog.Files.Loras.Select(Path.GetFileNameWithoutExtension).DefaultIfEmpty("none"))}); put it in a Lora/ or loras/ folder under the model roots",
                Catalog.Files.Loras.Select(f => Path.GetFileNameWithoutExtension(f)!)), l.Weight)).ToList();
        var choices = files.Select(f => new LoraChoice(f.File, (float)f.Weight)).ToList();
        var embeddings = Catalog.Files.Embeddings;
        var embeddingKey = ModelExtras.KeyOf([], embeddings);
        ModelExtras EmbeddingExtras() => Failures.Guard("embeddings", () => ModelExtras.Build(source, embeddings));
        if (choices.Count == 0)
        {
            return (embeddingKey, () =>
            {
                var extras = EmbeddingExtras();
                return new ModelAdditions(embeddingKey, [], Overrides(extras.TextEncoder), extras.EmbeddingWords)
                    { Notes = extras.Warnings, TextEncoder2 = Overrides(extras.TextEncoder2) };
            }, files, null);
        }

        LiveLora live;
        try { live = _live.GetOrAdd(folder.Root, _ => new Lazy<LiveLora>(() => new LiveLora(LiveLoraWeights.Open(source)))).Value; }
        catch (CheckpointException e) { throw new BadInputException("lora", e.Message, e); }
        live.Gate.Wait(cancellation);
        try
        {
            var setKey = ModelExtras.KeyOf(choices, []);
            try { live.Weights.Apply(choices, setKey); }
            catch (CheckpointException e) { throw new BadInputException("lora", e.Message, e); }
            var key = "live-lora|" + embeddingKey;
            return (key, () =>
            {
                var extras = EmbeddingExtras();
                return new ModelAdditions(key, Overrides(live.Weights.Unet), Overrides(live.Weights.TextEncoder).Concat(Overrides(extras.TextEncoder)).ToList(),
                    extras.EmbeddingWords)
                {
                    Notes = extras.Warnings, LiveWeights = true,
                    TextEncoder2 = Overrides(live.Weights.TextEncoder2).Concat(Overrides(extras.TextEncoder2)).ToList(),
                };
            }, files, new GateHold(live.Gate, live.Weights.Warnings));
        }
        catch
        {
            live.Gate.Release();
            throw;
        }
    }

    private static List<WeightOverride> Overrides(IEnumerable<ReplacementWeight> weights) =>
        weights.Select(w => new WeightOverride(w.Name, w.Values, w.Shape)).ToList();

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<LiveLora>> _live = new(StringComparer.Ordinal);

    /// <summary>A checkpoint's LoRA buffers and the turn generations take on them.</summary>
    private sealed class LiveLora(LiveLoraWeights weights)
    {
        public LiveLoraWeights Weights { get; } = weights;
        public SemaphoreSlim Gate { get; } = new(1, 1);
    }

    /// <summary>A generation's turn on a checkpoint's LoRA buffers, with what applying its set said.</summary>
    private sealed class GateHold(SemaphoreSlim gate, IReadOnlyList<string> warnings) : IDisposable
    {
        private int _released;
        public IReadOnlyList<string> Warnings { get; } = warnings;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    /// <summary>A1111's infotext field for LoRAs: Lora hashes: "name: hash12, ...".</summary>
    private static IEnumerable<string> LoraPairs(IReadOnlyList<(string Name, string File, double Weight)> loras) =>
        loras.Count == 0 ? [] : [$"Lora hashes: \"{string.Join(", ", loras.Select(l => $"{l.Name}: {BuiltModelCache.Sha256(l.File)[..12]}"))}\""];

    /// <summary>The job's inpainting laid out, or null for txt2img and plain img2img.</summary>
    private InpaintPlan? InpaintingOf(GenerationJob job, RgbImage? init, int width, int height)
    {
        if (job.Inpaint is null && job.Mask is null) return null;
        if (init is null) throw new BadInputException("mask", "an inpainting mask needs the init image it applies to (init_images)");
        var spec = job.Inpaint ?? new InpaintSpec();
        if (job.Mask is not null && spec.MaskImage is null && spec.Box is null && spec.Polygon is null) spec = spec with { MaskImage = job.Mask };
        return Failures.Guard("mask", () => InpaintPlan.Create(init, spec, width, height, Paths, Images));
    }

    private bool IsSpatial(UnitSpec unit) => Conditions.Find(unit.Condition)?.Kind != ConditionKind.Global;

    /// <summary>Engine step reports as job progress, on the reporting thread.</summary>
    /// <param name="offset">Steps of the image done before this pass (the hires fix's first pass).</param>
    /// <param name="total">Steps of the image in all its passes; 0: this pass's.</param>
    private sealed class StepReporter(IProgress<GenerationProgress> target, int image, int images, int offset = 0, int total = 0) : IProgress<StepProgress>
    {
        public void Report(StepProgress value) =>
            target.Report(new GenerationProgress(image, images, offset + value.Step, Math.Max(total, offset + value.Steps), value.Preview));
    }

    public void Dispose()
    {
        if (_pool.IsValueCreated) _pool.Value.Dispose();
        foreach (var live in _live.Values.Where(l => l.IsValueCreated)) live.Value.Weights.Dispose();
        if (_plugins.IsValueCreated) _plugins.Value.Dispose();
    }
}
