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
        var run = LoadRun.Run(requests, clients, async k =>
        {
            using var response = await http.PostAsync("/sdapi/v1/txt2img", Body(k));
            await response.Content.ReadAsByteArrayAsync();
            return (int)response.StatusCode;
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {requests} | {clients} | {run.Seconds:0.0} | {run.Served:0.00} | {run.Percentile(0.5):0} | {run.Percentile(0.95):0} | " +
            $"{run.Percentile(0.99):0} | {run.StatusText} |"));
        return run.Statuses.Keys.All(c => c == 200) ? 0 : 1;
    }

    /// <summary>The benchmark's job: the embedded model at 128x128, 8 steps of Euler a, guidance on.</summary>
    private static StringContent Body(int seed) => new(
        $"{{\"prompt\": \"a red star and a blue circle on a white background\", \"steps\": 8, \"seed\": {seed}, \"width\": 128, \"height\": 128}}",
        Encoding.UTF8, "application/json");
}
