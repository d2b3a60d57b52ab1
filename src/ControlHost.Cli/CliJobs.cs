using ControlHost.Application.Generation;
using ControlHost.Application.Jobs;
using ControlHost.Engine.Imaging;

namespace ControlHost.Cli;

/// <summary>
/// The CLI's jobs are documents like every other caller's: built from the flags (files read by value), their images
/// kept by hash in the CLI's blob store (so a PNG's record can be repeated with --from after the files change or
/// move), and run by the one <see cref="JobRunner"/>.
/// </summary>
internal static class CliJobs
{
    public static IBlobStore Store { get; } = new FolderBlobStore(FolderBlobStore.DefaultFolder);

    /// <summary>Checks the document, keeps its images and runs it.</summary>
    public static JobRun Run(GenerationService service, JobDocument document, IProgress<GenerationProgress>? progress = null)
    {
        document.Validate();
        JobImages.ByHashAsync(document, Store).GetAwaiter().GetResult();
        var images = JobImages.FetchAsync(document, Store).GetAwaiter().GetResult();
        return new JobRunner(service).Execute(document, images, progress);
    }

    /// <summary>The job document a PNG this host wrote holds (its images resolved from the store), or null.</summary>
    public static JobDocument? ReadRecord(string png, string keyword = JobRunner.JobKeyword) =>
        PngParameters.Read(png, keyword) is { } text ? JobDocument.Parse(text) : null;

    /// <summary>The record's images, fetched from the CLI's store: a job repeated from its PNG.</summary>
    public static JobImages ImagesOf(JobDocument document, string source)
    {
        try
        {
            return JobImages.FetchAsync(document, Store).GetAwaiter().GetResult();
        }
        catch (Application.Errors.BadInputException e)
        {
            throw new UserError($"--from {source}: {e.Message} (the CLI keeps the images of the jobs it ran in {FolderBlobStore.DefaultFolder}; give the files again)");
        }
    }
}
