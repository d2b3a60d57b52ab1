using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Jobs;

namespace ControlHost.Cluster;

/// <summary>What the in-process queue and a worker share about running one job: how its failures are named, which
/// are worth another try, and how its progress becomes events.</summary>
internal static class JobOutcomes
{
    public static JobError ErrorOf(Exception e) => e switch
    {
        JobValidationException v => new JobError("bad_input", v.Field, v.Message) { Fields = v.Errors.ToList() },
        ServiceException { Kind: ErrorKind.BadInput } s => new JobError("bad_input", s.Field, s.Message),
        ServiceException { Kind: ErrorKind.NotFound } s => new JobError("not_found", s.Field, s.Message),
        _ => new JobError("internal", null, e.Message),
    };

    /// <summary>Bad input stays bad on any machine; an internal fault (a device error, a lost model file) may not.</summary>
    public static bool Retryable(JobError error) => error.Kind == "internal";

    public static string PreviewPng(RgbImage image) => Convert.ToBase64String(JobRunner.Png(image, null, null));
}

/// <summary>Generation progress as the job's progress and an optional preview, on the generating thread.</summary>
internal sealed class ProgressRelay(Action<JobProgress, RgbImage?> report) : IProgress<GenerationProgress>
{
    public void Report(GenerationProgress value) => report(new JobProgress(value.Image, value.Images, value.Step, value.Steps), value.Preview);
}
