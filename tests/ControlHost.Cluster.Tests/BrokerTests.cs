using System.Text.Json;
using static ControlHost.Cluster.Tests.ClusterFixture;

namespace ControlHost.Cluster.Tests;

/// <summary>
/// The cluster with the real broker: workers killed mid-job, the broker restarted, idempotency keys, cancel, a job
/// that keeps killing its workers, progress across a worker change, and a burst over two API nodes and three workers
/// whose bytes must equal one process's.
/// </summary>
public class BrokerTests
{
    /// <summary>Long enough on two cores to be caught running (about ten seconds), small enough for CI.</summary>
    private static readonly string Long = Generate(steps: 120, seed: 77, size: 256);

    /// <summary>Several ack waits long (about twenty seconds here; over two ack waits on a machine four times faster).</summary>
    private static readonly string Slow = Generate(steps: 140, seed: 78, size: 384).Replace("\"preview_every\"", "\"n_iter\": 2, \"preview_every\"", StringComparison.Ordinal);

    private static string WorkerOf(JsonElement status) => status.TryGetProperty("worker", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString()! : "";

    private static bool RunningOn(JsonElement status, string worker) => Is(status, "running") && WorkerOf(status) == worker;

    [Fact]
    public async Task A_worker_killed_mid_job_has_its_job_completed_once_by_another_with_ordered_progress()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        using var a = WorkerProcess.Start(broker.Url, "a");
        var id = await Submit(client, Long);
        var events = Events(client, id); // watched from the start, across the worker change
        await Until(client, id, s => RunningOn(s, "a") && s.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object);
        a.Kill();
        using var b = WorkerProcess.Start(broker.Url, "b");

        var (code, result) = await Result(client, id);
        Assert.True(code == 200, result.ToString());
        var status = await Status(client, id);
        Assert.Equal(("succeeded", 2, "b"), (status.GetProperty("state").GetString(), status.GetProperty("attempts").GetInt32(), WorkerOf(status)));
        Assert.Equal(Pngs(RunHere(Long)), Pngs(result)); // the same bytes as one process without a broker

        var seen = await events;
        var sequence = seen.Select(e => e.GetProperty("sequence").GetInt64()).ToList();
        Assert.Equal(sequence.Order(), sequence);
        Assert.Equal(sequence.Count, sequence.Distinct().Count());
        var started = seen.Where(e => e.GetProperty("kind").GetString() == "started").Select(e => e.GetProperty("attempt").GetInt32()).ToList();
        Assert.Equal([1, 2], started);
        Assert.Equal("succeeded", seen[^1].GetProperty("kind").GetString());
        Assert.Contains("job " + id + " succeeded", b.Output);
        Assert.DoesNotContain("succeeded", a.Output);
    }

    [Fact]
    public async Task A_job_slower_than_the_ack_wait_stays_with_its_worker_while_another_is_idle()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        using var first = WorkerProcess.Start(broker.Url, "first");
        var id = await Submit(client, Slow);
        await Until(client, id, s => RunningOn(s, "first"));
        using var idle = WorkerProcess.Start(broker.Url, "idle");
        var (code, _) = await Result(client, id);
        Assert.Equal(200, code);
        var status = await Status(client, id);
        Assert.Equal((1, "first"), (status.GetProperty("attempts").GetInt32(), WorkerOf(status)));
        var took = status.GetProperty("finished").GetDateTimeOffset() - status.GetProperty("started").GetDateTimeOffset();
        Assert.True(took > AckWait * 2, $"the job took {took.TotalSeconds:0.0} s: too short to show that progress acks keep it");
        Assert.DoesNotContain($"job {id} started", idle.Output);
    }

    [Fact]
    public async Task A_worker_stopped_with_SIGTERM_finishes_its_job_first_and_takes_no_more()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        using var worker = WorkerProcess.Start(broker.Url, "leaving");
        var id = await Submit(client, Long);
        await Until(client, id, s => RunningOn(s, "leaving"));
        var next = await Submit(client, Generate(4, 12));
        Assert.Equal(0, worker.Terminate(TimeSpan.FromSeconds(60)));
        var status = await Status(client, id);
        Assert.Equal(("succeeded", 1, "leaving"), (status.GetProperty("state").GetString(), status.GetProperty("attempts").GetInt32(), WorkerOf(status)));
        Assert.Equal("queued", (await Status(client, next)).GetProperty("state").GetString()); // left for the next worker
        Assert.Contains("stopped after 1 jobs", worker.Output);
        using var successor = WorkerProcess.Start(broker.Url, "successor");
        Assert.Equal(200, (await Result(client, next)).Status);
    }

    [Fact]
    public async Task A_full_stream_answers_503_and_a_client_over_its_share_429()
    {
        await using var broker = await Broker.StartAsync();
        var (full, fullClient) = await ApiNode(broker, queue: 2);
        await using var _ = full;
        await Submit(fullClient, Generate(2, 1));
        await Submit(fullClient, Generate(2, 2));
        using (var third = await fullClient.PostAsync("/controlhost/v1/jobs", new StringContent(Generate(2, 3), System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(503, (int)third.StatusCode);
            Assert.Contains("busy", await third.Content.ReadAsStringAsync());
        }
        await using var other = await Broker.StartAsync();
        var (shared, sharedClient) = await ApiNode(other, perClient: 2);
        await using var __ = shared;
        var first = await Submit(sharedClient, Generate(2, 1));
        await Submit(sharedClient, Generate(2, 2));
        using (var over = await sharedClient.PostAsync("/controlhost/v1/jobs", new StringContent(Generate(2, 3), System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(429, (int)over.StatusCode);
            Assert.Contains("per-client", await over.Content.ReadAsStringAsync());
        }
        // Once one of its jobs has ended, the client may submit again.
        using var worker = WorkerProcess.Start(other.Url, "w");
        Assert.Equal(200, (await Result(sharedClient, first)).Status);
        await Submit(sharedClient, Generate(2, 3));
    }

    [Fact]
    public async Task A_node_with_both_roles_runs_jobs_itself()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker, role: Server.ServerRole.Both);
        await using var _ = app;
        var document = Generate(4, 13);
        var (code, result) = await Result(client, await Submit(client, document));
        Assert.Equal(200, code);
        Assert.Equal(Pngs(RunHere(document)), Pngs(result));
    }

    [Fact]
    public async Task The_broker_restarted_with_jobs_queued_and_running_loses_nothing()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        using var worker = WorkerProcess.Start(broker.Url, "w");
        var documents = new[] { Long, Generate(6, 1), Generate(6, 2), Generate(6, 3) };
        var ids = new List<string>();
        foreach (var d in documents) ids.Add(await Submit(client, d));
        await Until(client, ids[0], s => Is(s, "running"));
        await broker.RestartAsync(TimeSpan.FromSeconds(1));

        for (var k = 0; k < ids.Count; k++)
        {
            var (code, result) = await Result(client, ids[k]);
            Assert.True(code == 200, $"job {k}: {result}");
            Assert.Equal(Pngs(RunHere(documents[k])), Pngs(result));
            var status = await Status(client, ids[k]);
            Assert.Equal(1, status.GetProperty("attempts").GetInt32()); // the running one was not started again
        }
    }

    [Fact]
    public async Task The_same_idempotency_key_twice_on_two_api_nodes_makes_one_job()
    {
        await using var broker = await Broker.StartAsync();
        var (app1, client1) = await ApiNode(broker);
        var (app2, client2) = await ApiNode(broker);
        await using var _ = app1;
        await using var __ = app2;
        var first = await Submit(client1, Generate(4, 9), key: "retry-me");
        var second = await Submit(client2, Generate(4, 9), key: "retry-me");
        Assert.Equal(first, second);
        Assert.NotEqual(first, await Submit(client2, Generate(4, 9), key: "another"));
        using var worker = WorkerProcess.Start(broker.Url, "w");
        Assert.Equal(200, (await Result(client2, first)).Status);
        Assert.Equal(1, (await Status(client1, first)).GetProperty("attempts").GetInt32());
    }

    [Fact]
    public async Task Cancel_of_a_queued_a_running_and_a_finished_job()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        var done = await Submit(client, Generate(4, 5));
        using var worker = WorkerProcess.Start(broker.Url, "w");
        Assert.Equal(200, (await Result(client, done)).Status);
        var running = await Submit(client, Long);
        var queued = await Submit(client, Generate(4, 6));
        await Until(client, running, s => Is(s, "running"));

        async Task<JsonElement> Cancel(string id)
        {
            using var response = await client.PostAsync($"/controlhost/v1/jobs/{id}/cancel", null);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        Assert.Equal("cancelled", (await Cancel(queued)).GetProperty("outcome").GetString());
        Assert.Equal("cancelling", (await Cancel(running)).GetProperty("outcome").GetString());
        Assert.Equal("finished", (await Cancel(done)).GetProperty("outcome").GetString());
        await Until(client, running, s => Is(s, "cancelled"), TimeSpan.FromSeconds(30));
        Assert.Equal(409, (await Result(client, running)).Status);
        Assert.Equal(0, (await Status(client, queued)).GetProperty("attempts").GetInt32()); // it never ran
        // The worker is free again: a new job runs at once.
        Assert.Equal(200, (await Result(client, await Submit(client, Generate(4, 7)))).Status);
        Assert.DoesNotContain($"job {queued} started", worker.Output);
    }

    [Fact]
    public async Task A_job_that_kills_its_worker_every_time_ends_failed_after_its_attempts_and_does_not_loop()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        var id = await Submit(client, Long);
        // Each worker that starts it dies with it (as one that runs out of memory on it would).
        for (var k = 1; k <= 2; k++)
        {
            using var w = WorkerProcess.Start(broker.Url, $"victim{k}", maxAttempts: 2);
            await Until(client, id, s => RunningOn(s, $"victim{k}"));
            w.Kill();
        }
        using var last = WorkerProcess.Start(broker.Url, "last", maxAttempts: 2);
        var status = await Until(client, id, s => Is(s, "failed"), TimeSpan.FromSeconds(60));
        Assert.Equal(2, status.GetProperty("attempts").GetInt32());
        Assert.Contains("started 2 times", status.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(500, (await Result(client, id)).Status);
        // It is acknowledged, not redelivered: the worker goes on to other jobs.
        Assert.Equal(200, (await Result(client, await Submit(client, Generate(4, 8)))).Status);
        Assert.DoesNotContain($"job {id} started", last.Output);
    }

    [Fact]
    public async Task A1111_progress_and_interrupt_work_through_an_api_node_that_runs_no_model()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        using var worker = WorkerProcess.Start(broker.Url, "w");
        // A1111's synchronous route, 2 images: interrupted during the first, it returns that image partly denoised.
        var txt2img = client.PostAsync("/sdapi/v1/txt2img", new StringContent(
            """{"prompt": "a red star", "steps": 120, "seed": 3, "width": 256, "height": 256, "n_iter": 2}""", System.Text.Encoding.UTF8, "application/json"));
        JsonElement progress = default;
        for (var i = 0; i < 600; i++)
        {
            progress = JsonDocument.Parse(await client.GetStringAsync("/sdapi/v1/progress")).RootElement.Clone();
            if (progress.GetProperty("state").GetProperty("sampling_step").GetInt32() >= 10 && progress.GetProperty("current_image").ValueKind == JsonValueKind.String) break;
            await Task.Delay(100);
        }
        Assert.Equal("txt2img", progress.GetProperty("state").GetProperty("job").GetString());
        Assert.Equal(120, progress.GetProperty("state").GetProperty("sampling_steps").GetInt32());
        Assert.InRange(progress.GetProperty("progress").GetDouble(), 0.01, 0.99);
        Assert.StartsWith("iVBOR", progress.GetProperty("current_image").GetString()); // a preview PNG from the worker
        using (var interrupt = await client.PostAsync("/sdapi/v1/interrupt", null)) Assert.True(interrupt.IsSuccessStatusCode);
        using var response = await txt2img;
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(200, (int)response.StatusCode);
        var info = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement;
        Assert.Single(body.GetProperty("images").EnumerateArray()); // the image being made when interrupted; the second never started
        Assert.Contains(info.GetProperty("warnings").EnumerateArray(), w => w.GetString()!.Contains("interrupted after", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_job_goes_to_a_worker_that_has_its_model_and_one_no_worker_has_fails_at_once()
    {
        // One worker has a model the other does not: a copy of the embedded model under another name.
        var extra = Directory.CreateTempSubdirectory("controlhost-extra-models-").FullName;
        try
        {
            CopyFolder(Path.Combine(Root, "models", "tiny-sd"), Path.Combine(extra, "other-sd"));
            await using var broker = await Broker.StartAsync();
            var (app, client) = await ApiNode(broker);
            await using var _ = app;
            using var plain = WorkerProcess.Start(broker.Url, "plain");
            await Task.Delay(TimeSpan.FromSeconds(1)); // its pull is the older one
            using var equipped = WorkerProcess.Start(broker.Url, "equipped", modelsDir: extra);
            await Task.Delay(Heartbeat * 4 + TimeSpan.FromSeconds(2)); // both heartbeats are in the workers bucket
            for (var k = 0; k < 2; k++)
            {
                var id = await Submit(client, $$$"""{"version": 1, "generate": {"prompt": "a red star", "steps": 4, "seed": {{{30 + k}}}, "width": 64, "height": 64, "model": "other-sd"} }""");
                Assert.Equal(200, (await Result(client, id)).Status);
                Assert.Equal("equipped", WorkerOf(await Status(client, id)));
            }
            var nowhere = await Submit(client, """{"version": 1, "generate": {"prompt": "x", "steps": 2, "model": "nowhere-sd"} }""");
            var failed = await Until(client, nowhere, s => Is(s, "failed"), TimeSpan.FromSeconds(30));
            Assert.Equal(1, failed.GetProperty("attempts").GetInt32());
            Assert.Equal("not_found", failed.GetProperty("error").GetProperty("kind").GetString());
            Assert.Contains("nowhere-sd", failed.GetProperty("error").GetProperty("message").GetString());
        }
        finally
        {
            Directory.Delete(extra, recursive: true);
        }
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var dir in Directory.GetDirectories(from)) CopyFolder(dir, Path.Combine(to, Path.GetFileName(dir)));
    }

    [Fact]
    public async Task Jobs_go_to_the_idle_worker_that_has_their_model_loaded()
    {
        await using var broker = await Broker.StartAsync();
        var (app, client) = await ApiNode(broker);
        await using var _ = app;
        using var warm = WorkerProcess.Start(broker.Url, "warm");
        Assert.Equal(200, (await Result(client, await Submit(client, Generate(4, 1)))).Status); // it has run the model
        using var cold = WorkerProcess.Start(broker.Url, "cold");
        await Task.Delay(Heartbeat * 4 + TimeSpan.FromSeconds(2)); // both heartbeats are in the workers bucket
        var ids = new List<string>();
        for (var k = 0; k < 4; k++)
        {
            var id = await Submit(client, Generate(4, 10 + k));
            Assert.Equal(200, (await Result(client, id)).Status);
            ids.Add(id);
        }
        // The cold worker's pull request is the older one each time: without routing it would take them in turn.
        Assert.All(ids, id => Assert.Equal("warm", WorkerOf(Status(client, id).GetAwaiter().GetResult())));
    }

    [Fact]
    public async Task Two_api_nodes_and_three_workers_return_every_result_of_a_burst_once_with_one_processs_bytes()
    {
        await using var broker = await Broker.StartAsync();
        var (app1, client1) = await ApiNode(broker);
        var (app2, client2) = await ApiNode(broker);
        await using var _ = app1;
        await using var __ = app2;
        var workers = new[] { WorkerProcess.Start(broker.Url, "w1"), WorkerProcess.Start(broker.Url, "w2"), WorkerProcess.Start(broker.Url, "w3") };
        try
        {
            var scene = Scene;
            var documents = new List<string>();
            for (var k = 0; k < 9; k++)
            {
                documents.Add((k % 3) switch
                {
                    0 => Generate(5, 100 + k, 64),
                    1 => $$$"""{"version": 1, "generate": {"prompt": "a green circle", "steps": 4, "seed": {{{200 + k}}}, "width": 64, "height": 64, "units": [{"condition": "canny", "image": "{{{scene}}}", "weight": 0.8}]} }""",
                    _ => $$$"""{"version": 1, "detect": {"module": "canny", "image": "{{{scene}}}", "options": {"low_threshold": "{{{40 + k}}}"}} }""",
                });
            }
            var clients = new[] { client1, client2 };
            var ids = await Task.WhenAll(documents.Select((d, k) => Submit(clients[k % 2], d)));
            Assert.Equal(ids.Length, ids.Distinct().Count());
            var results = await Task.WhenAll(ids.Select((id, k) => Result(clients[(k + 1) % 2], id))); // asked of the other node
            for (var k = 0; k < ids.Length; k++)
            {
                Assert.True(results[k].Status == 200, $"job {k}: {results[k].Body}");
                Assert.Equal(Pngs(RunHere(documents[k])), Pngs(results[k].Body));
                Assert.Equal(1, (await Status(client1, ids[k])).GetProperty("attempts").GetInt32());
            }
            // Every job ran exactly once, somewhere.
            var runs = workers.Sum(w => ids.Count(id => w.Output.Contains($"job {id} started", StringComparison.Ordinal)));
            Assert.Equal(ids.Length, runs);
        }
        finally
        {
            foreach (var w in workers) w.Dispose();
        }
    }
}
