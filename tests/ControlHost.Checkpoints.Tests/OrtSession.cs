using ControlHost.Engine.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace ControlHost.Checkpoints.Tests;

/// <summary>A session over a saved model file, with optional initializer replacements, run on named inputs.</summary>
internal sealed class OrtSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly List<OrtValue> _keep = [];

    public OrtSession(string path, IEnumerable<(string Name, float[] Values, long[] Shape)>? replacements = null, bool live = false)
    {
        // The engine's own options, as a session with replaced weights gets them.
        var list = (replacements ?? []).ToList();
        using var options = ExecutionDevice.Resolve(DeviceChoice.Cpu, 2).CreateOptions(replacedWeights: list.Count > 0, liveWeights: live);
        foreach (var (name, values, shape) in list)
        {
            var v = OrtValue.CreateTensorValueFromMemory(values, shape);
            _keep.Add(v);
            options.AddInitializer(name, v);
        }
        _session = new InferenceSession(path, options);
    }

    public IReadOnlyList<string> InputNames => _session.InputNames;

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

    /// <summary>The UNet's inputs from the reference, with zero residuals (no control).</summary>
    public static (string, object, long[])[] UnetInputsWithoutControl(string sampleRef = "unet.sample")
    {
        var inputs = new List<(string, object, long[])>
        {
            GraphParityTests.Input("sample", sampleRef), GraphParityTests.Input("timestep", "unet.timestep"),
            GraphParityTests.Input("encoder_hidden_states", "unet.context"),
        };
        for (var i = 0; i < 12; i++)
        {
            var (v, s) = Fixtures.Ref($"controlnet.down_block_{i}_additional_residual");
            inputs.Add(($"down_block_{i}_additional_residual", new float[v.Length], s));
        }
        var (mv, ms) = Fixtures.Ref("controlnet.mid_block_additional_residual");
        inputs.Add(("mid_block_additional_residual", new float[mv.Length], ms));
        return inputs.ToArray();
    }

    public void Dispose()
    {
        _session.Dispose();
        foreach (var v in _keep) v.Dispose();
    }
}
