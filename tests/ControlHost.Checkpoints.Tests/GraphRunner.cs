using ControlHost.Checkpoints.Onnx;

namespace ControlHost.Checkpoints.Tests;

/// <summary>Saves a built graph to a temp folder and runs it in a real ONNX Runtime session (the engine's options).</summary>
internal sealed class GraphRunner : IDisposable
{
    private readonly string _dir;
    private readonly OrtSession _session;

    public GraphRunner(OnnxGraph graph)
    {
        _dir = Fixtures.TempDir("graph");
        var path = Path.Combine(_dir, "model.onnx");
        graph.Save(path, "model.onnx.data");
        _session = new OrtSession(path);
    }

    public Dictionary<string, float[]> Run(params (string Name, object Data, long[] Shape)[] inputs) => _session.Run(inputs);

    public void Dispose()
    {
        _session.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
