namespace ControlHost.Application.Generation;

/// <summary>
/// A1111's interrupt and skip for a running job: interrupt stops it and the job returns the images finished so far;
/// skip abandons the image being made and goes on with the next one. Thread-safe; one per job.
/// </summary>
public sealed class JobControl : IDisposable
{
    private readonly CancellationTokenSource _interrupt = new();
    private CancellationTokenSource _skip = new();
    private readonly Lock _gate = new();

    public bool Interrupted => _interrupt.IsCancellationRequested;

    public void Interrupt() => _interrupt.Cancel();

    public void Skip()
    {
        lock (_gate) _skip.Cancel();
    }

    /// <summary>A token for one image: cancelled by the caller's token, an interrupt or a skip of this image.</summary>
    internal CancellationTokenSource ForImage(CancellationToken caller)
    {
        lock (_gate)
        {
            if (_skip.IsCancellationRequested)
            {
                _skip.Dispose();
                _skip = new CancellationTokenSource();
            }
            return CancellationTokenSource.CreateLinkedTokenSource(caller, _interrupt.Token, _skip.Token);
        }
    }

    internal bool Skipped(CancellationTokenSource image)
    {
        lock (_gate) return _skip.IsCancellationRequested && image.IsCancellationRequested && !_interrupt.IsCancellationRequested;
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _skip.Dispose();
    }
}
