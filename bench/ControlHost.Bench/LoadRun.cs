using System.Diagnostics;

namespace ControlHost.Bench;

/// <summary>What ServerLoad and ClusterLoad share: requests k = 0..n-1 sent by concurrent clients, each timed, and
/// the served ones' latency percentiles.</summary>
internal sealed class LoadRun
{
    public double Seconds { get; private set; }
    public Dictionary<int, int> Statuses { get; } = [];
    private readonly List<double> _latencies = [];

    /// <summary>Runs <paramref name="send"/> (the request's status; -1 for a refused connection) for each request.</summary>
    public static LoadRun Run(int requests, int clients, Func<int, Task<int>> send)
    {
        var run = new LoadRun();
        var gate = new Lock();
        var next = -1;
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            int k;
            while ((k = Interlocked.Increment(ref next)) < requests)
            {
                var t = Stopwatch.StartNew();
                int code;
                try
                {
                    code = await send(k);
                }
                catch (HttpRequestException)
                {
                    code = -1; // connection refused or reset: the server fell over
                }
                lock (gate)
                {
                    run.Statuses[code] = run.Statuses.GetValueOrDefault(code) + 1;
                    if (code == 200) run._latencies.Add(t.Elapsed.TotalMilliseconds);
                }
            }
        })).ToArray();
        Task.WaitAll(tasks);
        run.Seconds = clock.Elapsed.TotalSeconds;
        run._latencies.Sort();
        return run;
    }

    public double Served => Statuses.GetValueOrDefault(200) / Seconds;

    /// <summary>The q-quantile of the served requests' latency, ms (nearest rank).</summary>
    public double Percentile(double q) => _latencies.Count == 0 ? 0 : _latencies[Math.Clamp((int)Math.Ceiling(q * _latencies.Count) - 1, 0, _latencies.Count - 1)];

    public string StatusText => string.Join(", ", Statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"));
}
