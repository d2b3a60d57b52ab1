using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ControlHost.Bench;

/// <summary>
/// `load URL [requests] [clients]`: a bounded load on a running server (controlhost serve) from this second process:
/// txt2img requests (4 steps) from concurrent clients; every answer must be 200 or 503. Prints throughput, latency
/// percentiles of the served requests, and the status counts.
/// </summary>
internal static class ServerLoad
{
    public static int Run(string url, int requests, int clients)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(10) };
        var latencies = new List<double>();
        var statuses = new Dictionary<int, int>();
        var gate = new Lock();
        var next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < requests)
            {
                var body = $"{{\"prompt\": \"a red star on a blue background\", \"steps\": 4, \"seed\": {next}}}";
                var t = Stopwatch.StartNew();
                int code;
                try
                {
                    using var response = await http.PostAsync("/sdapi/v1/txt2img", new StringContent(body, Encoding.UTF8, "application/json"));
                    await response.Content.ReadAsByteArrayAsync();
                    code = (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    code = -1; // connection refused or reset: the server fell over
                }
                lock (gate)
                {
                    statuses[code] = statuses.GetValueOrDefault(code) + 1;
                    if (code == 200) latencies.Add(t.Elapsed.TotalMilliseconds);
                }
            }
        })).ToArray();
        Task.WaitAll(workers);
        var seconds = clock.Elapsed.TotalSeconds;
        latencies.Sort();
        double P(double q) => latencies.Count == 0 ? 0 : latencies[Math.Min(latencies.Count - 1, (int)(q * latencies.Count))];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{requests} requests from {clients} clients in {seconds:0.0} s: {statuses.GetValueOrDefault(200) / seconds:0.00} served/s; " +
            $"served p50 {P(0.5):0} ms, p99 {P(0.99):0} ms; statuses {string.Join(", ", statuses.OrderBy(k => k.Key).Select(k => $"{k.Key}: {k.Value}"))}"));
        return statuses.Keys.All(k => k is 200 or 503) ? 0 : 1;
    }
}
