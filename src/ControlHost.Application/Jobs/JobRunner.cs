using ControlHost.Abstractions;
using ControlHost.Application.Generation;
using ControlHost.Application.Placement;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Jobs;

/// <summary>
/// Runs a job document on the generation service: the one place a document becomes work, for the in-process queue and
/// for a worker on another machine alike. The result's images are PNGs with A1111's "parameters" and the job as run
/// (<see cref="JobKeyword"/>: the document with its effective values and its images by hash), so that the PNG alone
/// repeats the job.
/// </summary>
public sealed class JobRunner(GenerationService service)
{
    /// <summary>The PNG text chunk holding the job document the image came from.</summary>
    public const string JobKeyword = "controlhost-job";

    /// <exception cref="Errors.ServiceException">Bad input, something not found, an internal fault; typed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public JobResult Run(JobDocument document, JobImages images, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellation = default, JobControl? control = null) => Execute(document, images, progress, cancellation, control).Result;

    /// <summary>As <see cref="Run"/>, with the generation service's own output beside the result (the CLI prints its
    /// step timings).</summary>
    public JobRun Execute(JobDocument document, JobImages images, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellation = default, JobControl? control = null) => document switch
    {
        { Generate: { } g } => Generate(document, g, images, progress, cancellation, control),
        { Place: { } p } => new JobRun(Place(p, images, progress, cancellation), null),
        { Detect: { } d } => new JobRun(Detect(document, d, images, cancellation), null),
        _ => throw new JobValidationException([new JobFieldError(["generate"], "a job document gives one of generate, place and detect")]),
    };

    private JobRun Generate(JobDocument document, GenerateDocument g, JobImages images, IProgress<GenerationProgress>? progress,
        CancellationToken cancellation, JobControl? control)
    {
        var output = service.Generate(JobMapping.ToJob(g, images), progress, cancellation, control);
        var e = output.Effective!;
        var effective = ByHash(document with
        {
            Generate = g with
            {
                Width = e.Width, Height = e.Height, Steps = e.Steps, CfgScale = e.CfgScale, Sampler = e.Sampler, Seed = e.Seed,
                BatchSize = e.BatchSize, NIter = e.Iterations, Strength = e.Strength, Model = output.Model,
            },
        });
        var record = effective.ToJson();
        return new JobRun(new JobResult
        {
            Operation = "generate", Parameters = effective, Model = output.Model, Warnings = output.Warnings.ToList(),
            Images = output.Images.Select(i => new ResultImage(ImageRef.ByValue(Png(i.Image, i.Infotext, record)), i.Seed, i.Infotext)).ToList(),
            DetectedMaps = output.DetectedMaps.Select(m => ImageRef.ByValue(Png(m, null, null))).ToList(),
            LoadSeconds = output.Timings.Load.TotalSeconds, TotalSeconds = output.Timings.Total.TotalSeconds,
        }, output);
    }

    private JobResult Place(PlaceDocument p, JobImages images, IProgress<GenerationProgress>? progress, CancellationToken cancellation)
    {
        var output = new Placer(service).Place(JobMapping.ToJob(p, images), progress, cancellation);
        // The placement record is the job as run (its seed and model), made by the placer.
        var effective = output.Record;
        var record = effective.ToJson();
        return new JobResult
        {
            Operation = "place", Parameters = effective, Model = output.Model,
            Warnings = output.Boxes.SelectMany((b, k) => b.Warnings.Select(w => $"box {k + 1}: {w}")).ToList(),
            Images = [new ResultImage(ImageRef.ByValue(Png(output.Image, output.Infotext, record, PlacementRecord.Keyword)), effective.Place!.Seed ?? 0, output.Infotext)],
            TotalSeconds = output.Elapsed.TotalSeconds,
        };
    }

    private JobResult Detect(JobDocument document, DetectDocument d, JobImages images, CancellationToken cancellation)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var output = service.Detector().Detect(d.Module, images.Source(d.Image!, "image"), d.Options, cancellation);
        return new JobResult
        {
            Operation = "detect", Parameters = ByHash(document), DetectedMaps = [ImageRef.ByValue(Png(output.Image, null, null))],
            Vector = output.Vector, Json = output.Json, Note = output.Note, TotalSeconds = clock.Elapsed.TotalSeconds,
        };
    }

    /// <summary>The document as recorded: images by hash (a record names them; it does not carry them).</summary>
    private static JobDocument ByHash(JobDocument document) => document.MapImages(i => ImageRef.ByHash(i.Hash));

    public static byte[] Png(RgbImage image, string? parameters, string? job, string keyword = JobKeyword)
    {
        using var stream = new MemoryStream();
        PngParameters.Encode(image, parameters, stream, job is null ? null : new Dictionary<string, string> { [keyword] = job });
        return stream.ToArray();
    }
}

/// <summary>A job's result, and for a generation the service's output it was made from.</summary>
public sealed record JobRun(JobResult Result, GenerationOutput? Generation);
