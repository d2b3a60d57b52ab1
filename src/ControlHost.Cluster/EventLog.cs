using System.Runtime.CompilerServices;

namespace ControlHost.Cluster;

/// <summary>
/// One job's events as a queue keeps them for its watchers: appended in order (one not newer than the last is dropped,
/// which keeps them ordered across workers), read from a sequence number on, and waited on. Thread-safe.
/// </summary>
internal sealed class EventLog
{
    private const int Kept = 4096;
    private readonly Lock _gate = new();
    private readonly List<JobEvent> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _last;

    public static bool Ends(JobEvent e) => e.Kind is "succeeded" or "failed" or "cancelled";

    /// <summary>Adds the event unless one as new or newer is in already; wakes the waiters.</summary>
    public bool Append(JobEvent e)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (e.Sequence <= _last) return false;
            _last = e.Sequence;
            _events.Add(e);
            if (_events.Count > Kept) _events.RemoveRange(0, Kept / 4);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
        return true;
    }

    /// <summary>Completes at the next append.</summary>
    public Task Changed
    {
        get { lock (_gate) return _changed.Task; }
    }

    private (JobEvent[] Fresh, Task Changed) After(long sequence)
    {
        lock (_gate) return (_events.Where(e => e.Sequence > sequence).ToArray(), _changed.Task);
    }

    /// <summary>
    /// The events from the first, ending with the one that ends the job. With <paramref name="whenQuiet"/>, a second
    /// without an event asks it for the job's end (null: not ended), for an end whose event was never heard.
    /// </summary>
    public async IAsyncEnumerable<JobEvent> ReadAsync(Func<long, CancellationToken, Task<JobEvent?>>? whenQuiet = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        long last = 0;
        while (true)
        {
            var (fresh, changed) = After(last);
            foreach (var e in fresh)
            {
                last = e.Sequence;
                yield return e;
                if (Ends(e)) yield break;
            }
            if (whenQuiet is null)
            {
                await changed.WaitAsync(cancellation).ConfigureAwait(false);
                continue;
            }
            await Task.WhenAny(changed, Task.Delay(1000, cancellation)).ConfigureAwait(false);
            cancellation.ThrowIfCancellationRequested();
            if (fresh.Length > 0 || changed.IsCompleted) continue;
            if (await whenQuiet(last, cancellation).ConfigureAwait(false) is { } end && After(last).Fresh.Length == 0)
            {
                yield return end;
                yield break;
            }
        }
    }
}
