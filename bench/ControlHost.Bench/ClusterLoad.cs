using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ControlHost.Bench;

/// <summary>
/// `cluster URL requests clients LABEL`: jobs through a running server's A1111 txt2img route (synchronous on top of
/// the job queue, in-process or on a cluster) from concurrent clients, each a different seed; prints one markdown row:
/// jobs per second and the p50/p95/p99 latency of the served jobs. bench/cluster.sh runs it against each set-up.
/// </summary>
internal static class ClusterLoad
{
    public static int Run(string url, int requests, int clients, string label)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(10) };
        // One warm-up job: loading the model is not what is measured.
        using (var warm = http.PostAsync("/sdapi/v1/txt2img", Body(-1)).GetAwaiter().GetResult()) warm.EnsureSuccessStatusCode();
        var latencies = new List<double>();
        var statuses = new Dictionary<int, int>();
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
                    using var response = await http.PostAsync("/sdapi/v1/txt2img", Body(k));
                    await response.Content.ReadAsByteArrayAsync();
                    code = (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    code = -1;
                }
                lock (gate)
                {
                    statuses[code] = statuses.GetValueOrDefault(code) + 1;
                    if (code == 200) latencies.Add(t.Elapsed.TotalMilliseconds);
                }
            }
        })).ToArray();
        Task.WaitAll(tasks);
        var seconds = clock.Elapsed.TotalSeconds;
        latencies.Sort();
        double P(double q) => latencies.Count == 0 ? 0 : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(q * latencies.Count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {requests} | {clients} | {seconds:0.0} | {statuses.GetValueOrDefault(200) / seconds:0.00} | {P(0.5):0} | {P(0.95):0} | {P(0.99):0} | " +
            $"{string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))} |"));
        return statuses.Keys.All(c => c == 200) ? 0 : 1;
    }

    /// <summary>The benchmark's job: the embedded model at 128x128, 8 steps of Euler a, guidance on.</summary>
    private static StringContent Body(int seed) => new(
        $"{{\"prompt\": \"a red star and a blue circle on a white background\", \"steps\": 8, \"seed\": {seed}, \"width\": 128, \"height\": 128}}",
        Encoding.UTF8, "application/json");
}
