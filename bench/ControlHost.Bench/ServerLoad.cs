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
        var run = LoadRun.Run(requests, clients, async k =>
        {
            var body = $"{{\"prompt\": \"a red star on a blue background\", \"steps\": 4, \"seed\": {k}}}";
            using var response = await http.PostAsync("/sdapi/v1/txt2img", new StringContent(body, Encoding.UTF8, "application/json"));
            await response.Content.ReadAsByteArrayAsync();
            return (int)response.StatusCode;
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{requests} requests from {clients} clients in {run.Seconds:0.0} s: {run.Served:0.00} served/s; " +
            $"served p50 {run.Percentile(0.5):0} ms, p99 {run.Percentile(0.99):0} ms; statuses {run.StatusText}"));
        return run.Statuses.Keys.All(k => k is 200 or 503) ? 0 : 1;
    }
}
