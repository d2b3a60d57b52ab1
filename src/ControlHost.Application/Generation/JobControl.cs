namespace ControlHost.Application.Generation;

/// <summary>
/// A1111's interrupt and skip for a running job: interrupt stops it before its next step and the job returns the
/// images finished so far and the one being made, partly denoised (as A1111 does); skip abandons the image being made
/// and goes on with the next one. Thread-safe; one per job.
/// </summary>
public sealed class JobControl : IDisposable
{
    private readonly CancellationTokenSource _interrupt = new();
    private CancellationTokenSource _skip = new();
    private readonly Lock _gate = new();

    public bool Interrupted => _interrupt.IsCancellationRequested;

    public void Interrupt() => _interrupt.Cancel();

    /// <summary>Set by <see cref="Interrupt"/>: the loop finishes early on it (not a cancellation).</summary>
    internal CancellationToken InterruptToken => _interrupt.Token;

    public void Skip()
    {
        lock (_gate) _skip.Cancel();
    }

    /// <summary>A token for one image: cancelled by the caller's token or a skip of this image.</summary>
    internal CancellationTokenSource ForImage(CancellationToken caller)
    {
        lock (_gate)
        {
            if (_skip.IsCancellationRequested)
            {
                _skip.Dispose();
                _skip = new CancellationTokenSource();
            }
            return CancellationTokenSource.CreateLinkedTokenSource(caller, _skip.Token);
        }
    }

    internal bool Skipped(CancellationTokenSource image)
    {
        lock (_gate) return _skip.IsCancellationRequested && image.IsCancellationRequested;
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _skip.Dispose();
    }
}
