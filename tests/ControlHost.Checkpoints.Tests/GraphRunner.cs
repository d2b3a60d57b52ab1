using ControlHost.Checkpoints.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Checkpoints.Tests;

/// <summary>Saves a built graph to a temp folder and runs it in a real ONNX Runtime session.</summary>
internal sealed class GraphRunner : IDisposable
{
    private readonly string _dir;
    private readonly InferenceSession _session;

    public GraphRunner(OnnxGraph graph)
    {
        _dir = Fixtures.TempDir("graph");
        var path = Path.Combine(_dir, "model.onnx");
        graph.Save(path, "model.onnx.data");
        using var options = new SessionOptions { IntraOpNumThreads = 2 };
        _session = new InferenceSession(path, options);
    }

    public InferenceSession Session => _session;

    public Dictionary<string, float[]> Run(params (string Name, object Data, long[] Shape)[] inputs)
    {
        var values = inputs.Select(i => i.Data switch
        {
            float[] f => OrtValue.CreateTensorValueFromMemory(f, i.Shape),
            int[] n => OrtValue.CreateTensorValueFromMemory(n, i.Shape),
            _ => throw new ArgumentException(i.Name),
        }).ToArray();
        try
        {
            using var outputs = _session.Run(new RunOptions(), inputs.Select(i => i.Name).ToArray(), values, _session.OutputNames);
            return _session.OutputNames.Zip(outputs).ToDictionary(p => p.First, p => p.Second.GetTensorDataAsSpan<float>().ToArray());
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    public void Dispose()
    {
        _session.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
