using System.Diagnostics;
using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Models;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
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
        Catalog = _options.ModelRoots is { } roots ? new ModelCatalog(roots) : ModelCatalog.Default();
        // The device probe and the pool wait for the first generation: detect and list commands need neither.
        _pool = new Lazy<ModelPool>(() => new ModelPool(ResolveDevice(), _options.ModelMemoryBudget ?? ModelPool.DefaultBudgetBytes),
            LazyThreadSafetyMode.ExecutionAndPublication);
        _plugins = new Lazy<PluginHost>(LoadPlugins, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    public ModelCatalog Catalog { get; }
    public ModelPool Pool => _pool.Value;
    public ExecutionDevice Device => Pool.Device;
    public PathPolicy Paths => _options.Paths;

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
        var request = GenerationPolicy.Request(job, folder);
        var (batchSize, iterations) = GenerationPolicy.Batches(job, _options.MaxImagesPerJob);
        var firstSeed = GenerationPolicy.FirstSeed(job.Seed);
        var init = job.InitImage?.Load(Paths, "init image");
        var plan = InpaintingOf(job, init, request.Width, request.Height);
        request = plan is null
            ? request with { InitImage = init }
            : request with { InitImage = plan.WorkingInit, Mask = plan.WorkingMask, MaskedStart = plan.LatentStart };
        if (request.Validate() is { } problem) throw new BadInputException(request.Mask is not null ? "mask" : null, problem);

        using var lease = Failures.Guard("model", () => Pool.Acquire(folder));
        var model = lease.Model;
        // Inpainting moves every unit's image onto the working canvas with the job's one transform.
        var specs = (job.Units ?? []).Select((u, i) => plan is null ? u : plan.OnCanvas(u, i, Paths, IsSpatial(u))).ToList();
        var (units, disabled) = Failures.Guard("units",
            () => new UnitResolver(Conditions, Catalog, Paths).Resolve(specs, model, request.Width, request.Height, cancellation, firstSeed));
        try
        {
            var load = clock.Elapsed;
            var pipeline = new DiffusionPipeline(model);
            var count = batchSize * iterations;
            var images = new List<GeneratedImage>(count);
            for (var k = 0; k < count; k++)
            {
                var one = request with { Seed = GenerationPolicy.SeedOf(firstSeed, k) };
                var stepProgress = progress is null ? null : new StepReporter(progress, k + 1, count);
                if (control?.Interrupted == true) break;
                using var imageToken = control?.ForImage(cancellation);
                Engine.Pipeline.GenerationResult result;
                try
                {
                    result = Failures.Guard(null, () => pipeline.Generate(one, units, stepProgress, imageToken?.Token ?? cancellation));
                }
                catch (OperationCanceledException) when (control is not null && !cancellation.IsCancellationRequested)
                {
                    if (control.Skipped(imageToken!)) continue;
                    break; // interrupted: the images finished so far are the job's result
                }
                var image = plan is null ? result.Image : plan.Paste(result.Decoded);
                var infotext = Infotext.Format(one with { Width = result.Image.Width, Height = result.Image.Height }, model.Name, units,
                    batchSize, k % batchSize, plan?.InfotextPairs());
                images.Add(new GeneratedImage(image, one.Seed, infotext, result));
            }
            return new GenerationOutput(images, disabled, model.Name, new JobTimings(load, clock.Elapsed));
        }
        finally
        {
            foreach (var u in units) u.Branch.Dispose();
        }
    }

    /// <summary>The job's inpainting laid out, or null for txt2img and plain img2img.</summary>
    private InpaintPlan? InpaintingOf(GenerationJob job, RgbImage? init, int width, int height)
    {
        if (job.Inpaint is null && job.Mask is null) return null;
        if (init is null) throw new BadInputException("mask", "an inpainting mask needs the init image it applies to (init_images)");
        var spec = job.Inpaint ?? new InpaintSpec();
        if (job.Mask is not null && spec.MaskImage is null && spec.Box is null && spec.Polygon is null) spec = spec with { MaskImage = job.Mask };
        return Failures.Guard("mask", () => InpaintPlan.Create(init, spec, width, height, Paths));
    }

    private bool IsSpatial(UnitSpec unit) => Conditions.Find(unit.Condition)?.Kind != ConditionKind.Global;

    /// <summary>Engine step reports as job progress, on the reporting thread.</summary>
    private sealed class StepReporter(IProgress<GenerationProgress> target, int image, int images) : IProgress<StepProgress>
    {
        public void Report(StepProgress value) => target.Report(new GenerationProgress(image, images, value.Step, value.Steps, value.Preview));
    }

    public void Dispose()
    {
        if (_pool.IsValueCreated) _pool.Value.Dispose();
        if (_plugins.IsValueCreated) _plugins.Value.Dispose();
    }
}
