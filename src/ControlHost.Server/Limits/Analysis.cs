namespace ControlHost.Server;

/// <summary>
/// The analysis routes (detect, suggest-boxes, render_openpose_json) run on the node that answers them, one at a time
/// (<see cref="ServerContext.AnalysisSlots"/>; as many may wait as the queue holds, the next gets 503), each with a
/// time bound (<see cref="ServerLimits.AnalysisSeconds"/>, counted from when it starts, not while it waits) and stopped
/// as soon as its client disconnects: work nobody waits for is not done. They need no diffusion model, so an API node
/// of a cluster answers them itself.
/// </summary>
internal static class Analysis
{
    /// <exception cref="Api.ValidationException">The work ran past the bound (422 naming the limit).</exception>
    public static async Task<T> Run<T>(ServerContext context, string name, CancellationToken clientGone, Func<CancellationToken, T> work)
    {
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(clientGone);
        var seconds = context.Limits.AnalysisSeconds;
        try
        {
            if (Interlocked.Increment(ref context.AnalysisWaiting) > context.Settings.Queue + 1)
            {
                Interlocked.Decrement(ref context.AnalysisWaiting);
                throw new Cluster.QueueFullException($"the server is busy: {context.Settings.Queue} analysis requests are waiting already; retry later");
            }
            try
            {
                await context.AnalysisSlots.WaitAsync(bound.Token);
                try
                {
                    return await Task.Run(() =>
                    {
                        var clock = System.Diagnostics.Stopwatch.StartNew();
                        bound.CancelAfter(TimeSpan.FromSeconds(seconds));
                        var result = work(bound.Token);
                        // Work that finished between its bound and the timer's firing (or between two checks of the token)
                        // still ran past the limit: the same answer as if it had been stopped, whatever the timer's latency.
                        if (clock.Elapsed.TotalSeconds > seconds) bound.Cancel();
                        bound.Token.ThrowIfCancellationRequested();
                        return result;
                    }, bound.Token);
                }
                finally
                {
                    context.AnalysisSlots.Release();
                }
            }
            finally
            {
                Interlocked.Decrement(ref context.AnalysisWaiting);
            }
        }
        catch (OperationCanceledException) when (!clientGone.IsCancellationRequested && bound.IsCancellationRequested)
        {
            throw Api.ValidationException.One("body",
                $"{name} was stopped after {seconds:0.#} s, the server's limit for analysis work (--limit analysis-seconds); send a smaller image or fewer images",
                "value_error.limit");
        }
    }
}
