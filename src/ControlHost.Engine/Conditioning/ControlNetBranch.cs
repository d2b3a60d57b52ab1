using ControlHost.Abstractions;
using ControlHost.Engine.Components;
using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Conditioning;

/// <summary>The built-in ControlNet branch: a hint image run through a (shared) ControlNet session each active step.</summary>
public sealed class ControlNetBranch : IResidualBranch
{
    private readonly ControlNetModel _model;
    private readonly RgbImage _hint;
    private float[] _hintBatch = [];
    private int _hintBatchSize;
    private IReadOnlyList<FloatTensor>? _outputsSeen;
    private float[][] _outputArrays = [];

    private readonly float[]? _unionRow;
    private IReadOnlyDictionary<string, FloatTensor>? _extrasSeen;
    private IReadOnlyDictionary<string, FloatTensor>? _extrasWithType;

    /// <param name="unionRow">For a union ControlNet: the one-hot row of the control type this unit asks for.</param>
    public ControlNetBranch(string name, ControlNetModel model, RgbImage hint, float[]? unionRow = null)
    {
        Name = name;
        _model = model;
        _hint = hint;
        if (model.IsUnion && unionRow is null)
            throw new ArgumentException($"{name}: '{model.Model.Path}' is a union ControlNet; the unit must say which control type it is");
        _unionRow = unionRow;
    }

    public string Name { get; }

    /// <summary>Times this branch ran its network (the window tests count these).</summary>
    public int Runs { get; private set; }

    public void Compute(ResidualRequest request, IReadOnlyList<FloatTensor> outputs)
    {
        var batch = request.Sample.Shape[0];
        if (_hintBatchSize != batch)
        {
            // The hint is the same for every entry of the batch; built once per batch size, not per step.
            var one = ImageIo.ToChw(_hint, signed: false);
            _hintBatch = new float[one.Length * batch];
            for (var b = 0; b < batch; b++) one.CopyTo(_hintBatch, b * one.Length);
            _hintBatchSize = batch;
        }
        var s = request.Sample.Shape;
        var c = request.TextEmbeddings.Shape;
        // The engine passes the same output tensors every step: their arrays are gathered once.
        if (!ReferenceEquals(_outputsSeen, outputs))
        {
            _outputArrays = outputs.Select(o => o.Data).ToArray();
            _outputsSeen = outputs;
        }
        _model.Run(request.Sample.Data, batch, s[1], s[2], s[3], request.Timestep, request.TextEmbeddings.Data, c[1], c[2],
            _hintBatch, _hint.Height, _hint.Width, _outputArrays, WithControlType(request.ExtraInputs, batch));
        Runs++;
    }

    /// <summary>The step's extra inputs plus, for a union ControlNet, the control type of every entry (built once per run).</summary>
    private IReadOnlyDictionary<string, FloatTensor> WithControlType(IReadOnlyDictionary<string, FloatTensor> extras, int batch)
    {
        if (_unionRow is null) return extras;
        if (ReferenceEquals(extras, _extrasSeen) && _extrasWithType![ControlNetModel.UnionControlType].Shape[0] == batch) return _extrasWithType;
        var rows = new float[batch * _unionRow.Length];
        for (var b = 0; b < batch; b++) _unionRow.CopyTo(rows, b * _unionRow.Length);
        _extrasWithType = new Dictionary<string, FloatTensor>(extras) { [ControlNetModel.UnionControlType] = new(rows, batch, _unionRow.Length) };
        _extrasSeen = extras;
        return _extrasWithType;
    }

    public void Dispose()
    {
        // The session is shared and owned by the model.
    }
}
