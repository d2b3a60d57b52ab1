using ControlHost.Application.Generation;
using ControlHost.Cluster;

namespace ControlHost.Server;

/// <summary>A cluster worker inside a server process (<c>serve --nats URL</c> with the default role, both).</summary>
internal sealed class WorkerService(string nats, GenerationService service, ClusterOptions options, ILogger logger) : IHostedService, IAsyncDisposable
{
    private NatsWorker? _worker;

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _worker = await NatsWorker.StartAsync(nats, service, options, log: line => logger.LogInformation("{Line}", line), cancellation: cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_worker is not null)
        {
            // Within the host's shutdown time: the running job finishes and writes its end, or goes to another worker.
            await _worker.StopAsync(TimeSpan.FromSeconds(20));
            await _worker.DisposeAsync();
        }
        _worker = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);
}
