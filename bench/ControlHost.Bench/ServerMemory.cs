using System.Diagnostics;
using System.Globalization;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ControlHost.Bench;

/// <summary>
/// `memory URL PID [requests]`: the resident set of a running server (process PID) over mixed requests at its limits
/// (issue 23): the largest images and canvases the default limits allow, prompts at the character limit, the most
/// units, and the same just over each limit (refused). Prints the resident set after a warm-up (models loaded) and
/// every 100 requests, and the status counts; a server that keeps what requests allocate grows from line to line.
/// </summary>
internal static class ServerMemory
{
    public static int Run(string url, int pid, int requests)
    {
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(10) };
        var scene = Png(128, 128, noise: true);
        var bodies = Bodies(scene);
        Send(http, "/sdapi/v1/txt2img", "{\"prompt\":\"warm up\",\"steps\":2,\"width\":64,\"height\":64}");
        foreach (var (route, body) in bodies) Send(http, route, body); // one of each: every path warm
        var before = Rss(pid);
        Console.WriteLine($"| after warm-up (models loaded, one request of each kind) | {before / 1024.0:0} MB |");
        var statuses = new SortedDictionary<int, int>();
        var slowest = new double[bodies.Count];
        var peak = before;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < requests; i++)
        {
            var (route, body) = bodies[i % bodies.Count];
            var started = Stopwatch.StartNew();
            var code = Send(http, route, body);
            slowest[i % bodies.Count] = Math.Max(slowest[i % bodies.Count], started.Elapsed.TotalSeconds);
            statuses[code] = statuses.GetValueOrDefault(code) + 1;
            peak = Math.Max(peak, Rss(pid));
            if ((i + 1) % 100 == 0) Console.WriteLine($"| after {i + 1} requests ({clock.Elapsed.TotalSeconds:0} s) | {Rss(pid) / 1024.0:0} MB |");
        }
        var after = Rss(pid);
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{requests} requests in {clock.Elapsed.TotalSeconds:0} s; resident {before / 1024.0:0} MB after warm-up, {after / 1024.0:0} MB after ({(after - before) / 1024.0:+0;-0} MB), " +
            $"highest sample {peak / 1024.0:0} MB; statuses {string.Join(", ", statuses.Select(kv => $"{kv.Key}: {kv.Value}"))}"));
        Console.WriteLine();
        Console.WriteLine("| request (kind) | slowest answer |");
        Console.WriteLine("| --- | ---: |");
        for (var k = 0; k < bodies.Count; k++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {Kinds[k]} | {slowest[k]:0.00} s |"));
        return statuses.Keys.All(k => k is 200 or 422) ? 0 : 1;
    }

    private static readonly string[] Kinds =
    [
        "txt2img, 3 canny units, 16,384-character prompt, 128x128, 4 steps", "txt2img, prompt one character over (422)", "txt2img, 4 units (422)",
        "detect canny, 4096x4096 image", "detect canny, 256x4096 strip at processor res 1024 (1024x16384)", "detect canny, strip at processor res 1100 (422)",
        "suggest-boxes, 1x1 box on 4096x4096", "render_openpose_json, 4096x4096 canvas", "render_openpose_json, 4097x4096 canvas (422)",
    ];

    /// <summary>Requests at the default limits, and just over them (each kind once per cycle).</summary>
    private static List<(string Route, string Body)> Bodies(string scene)
    {
        var big = Png(4096, 4096, noise: false); // 16 Mi pixels: the work limit, and under the input limit
        var strip = Png(256, 4096, noise: false); // aspect 16:1, the limit
        var prompt = new string('a', 16_384);
        // One person in the COCO-18 layout (18 x, y, confidence triples), spread over the canvas.
        var keypoints = string.Join(",", Enumerable.Range(0, 18).Select(k => $"{200 + k * 200},{300 + (k % 6) * 600},1"));
        var pose = "{\"people\":[{\"pose_keypoints_2d\":[" + keypoints + "]}],\"canvas_width\":4096,\"canvas_height\":4096}";
        var unit = "{\"module\":\"canny\",\"model\":\"controlnet-tiny-canny\",\"image\":\"" + scene + "\"}";
        string Units(int n) => string.Join(",", Enumerable.Repeat(unit, n));
        return
        [
            ("/sdapi/v1/txt2img", "{\"prompt\":\"" + prompt + "\",\"steps\":4,\"width\":128,\"height\":128,\"alwayson_scripts\":{\"ControlNet\":{\"args\":[" + Units(3) + "]}}}"),
            ("/sdapi/v1/txt2img", "{\"prompt\":\"" + prompt + "a\",\"steps\":4}"), // over the prompt limit
            ("/sdapi/v1/txt2img", "{\"prompt\":\"x\",\"steps\":4,\"alwayson_scripts\":{\"ControlNet\":{\"args\":[" + Units(4) + "]}}}"), // one unit too many
            ("/controlnet/detect", "{\"controlnet_module\":\"canny\",\"controlnet_input_images\":[\"" + big + "\"]}"),
            ("/controlnet/detect", "{\"controlnet_module\":\"canny\",\"controlnet_processor_res\":1024,\"controlnet_input_images\":[\"" + strip + "\"]}"), // 1024x16384: at the work limit
            ("/controlnet/detect", "{\"controlnet_module\":\"canny\",\"controlnet_processor_res\":1100,\"controlnet_input_images\":[\"" + strip + "\"]}"), // just over it
            ("/controlhost/v1/suggest-boxes", "{\"background\":\"" + big + "\",\"width\":1,\"height\":1,\"count\":5}"),
            ("/controlnet/render_openpose_json", "[" + pose + "]"),
            ("/controlnet/render_openpose_json", "[" + pose.Replace("4096}", "4097}") + "]"), // canvas just over the limit
        ];
    }

    private static int Send(HttpClient http, string route, string body)
    {
        try
        {
            using var response = http.PostAsync(route, new StringContent(body, Encoding.UTF8, "application/json")).GetAwaiter().GetResult();
            response.Content.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return -1;
        }
    }

    /// <summary>VmRSS of a process, KB.</summary>
    private static long Rss(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
    }

    private static string Png(int width, int height, bool noise)
    {
        using var image = new Image<Rgb24>(width, height);
        var rng = new Random(7);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
                image[x, y] = noise ? new Rgb24((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256))
                    : ((x / 64 + y / 64) % 2 == 0 ? new Rgb24(20, 20, 20) : new Rgb24(230, 230, 230));
        using var ms = new MemoryStream();
        image.SaveAsPng(ms);
        return Convert.ToBase64String(ms.ToArray());
    }
}
