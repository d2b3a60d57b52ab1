using ControlHost.Application.Generation;
using ControlHost.Application.Jobs;
using ControlHost.Cluster;

namespace ControlHost.Server.Tests;

/// <summary>The in-process queue forgets its oldest finished jobs past its bounds: results, events and keys.</summary>
public class InProcessQueueTests
{
    private static JobDocument Generate(long seed) =>
        new() { Generate = new GenerateDocument { Prompt = "a red star", Steps = 2, Seed = seed, Width = 64, Height = 64 } };

    [Fact]
    public async Task Finished_jobs_past_the_count_or_the_bytes_bound_are_forgotten_with_their_idempotency_keys()
    {
        using var service = new GenerationService(ServerFixture.Settings().Service);
        await using (var queue = new InProcessJobQueue(service, new QueueOptions { KeepFinished = 1 }))
        {
            var first = await queue.SubmitAsync(new JobSubmission(Generate(1), "key-1"));
            await queue.WaitAsync(first.Id);
            var second = await queue.SubmitAsync(new JobSubmission(Generate(2)));
            await queue.WaitAsync(second.Id);
            Assert.Null(await queue.StatusAsync(first.Id)); // one finished job is kept: the newer
            Assert.NotNull(await queue.StatusAsync(second.Id));
            var again = await queue.SubmitAsync(new JobSubmission(Generate(1), "key-1"));
            Assert.False(again.Existing); // the forgotten job's key is free again
            await queue.WaitAsync(again.Id);
        }
        await using (var queue = new InProcessJobQueue(service, new QueueOptions { KeepBytes = 1 }))
        {
            var job = await queue.SubmitAsync(new JobSubmission(Generate(3)));
            Assert.Single((await queue.WaitAsync(job.Id)).Images);
            Assert.NotNull(await queue.StatusAsync(job.Id)); // the newest stays, however large
            var next = await queue.SubmitAsync(new JobSubmission(Generate(4)));
            await queue.WaitAsync(next.Id);
            Assert.Null(await queue.StatusAsync(job.Id)); // then its image is over the bound
        }
    }
}
