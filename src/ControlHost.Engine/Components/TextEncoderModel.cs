using ControlHost.Engine.Onnx;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Engine.Components;

/// <summary>The text encoder: input_ids [B,77] (int32 or int64) -> last_hidden_state [B,77,D].</summary>
public sealed class TextEncoderModel : IDisposable
{
    private readonly OnnxModel _model;
    private readonly TensorSpec _ids;
    private readonly string _hiddenName;

    public TextEncoderModel(OnnxModel model)
    {
        _model = model;
        _ids = model.Inputs.FirstOrDefault(i => i.Name == "input_ids") ?? model.Inputs[0];
        if (_ids.Rank != 2 || _ids.ElementType is not (TensorElementType.Int32 or TensorElementType.Int64))
            throw new ModelLoadException(model.Path, $"input '{_ids.Name}' is {_ids.ElementType}{_ids.ShapeText}; int32 or int64 [B,77] expected");
        _hiddenName = model.Outputs.FirstOrDefault(o => o.Name == "last_hidden_state")?.Name ?? model.Outputs[0].Name;
        var hidden = model.Outputs.First(o => o.Name == _hiddenName);
        if (hidden.Rank != 3) throw new ModelLoadException(model.Path, $"output '{_hiddenName}' has rank {hidden.Rank}; [B,77,D] expected");
        OrtTensors.Require(hidden, model.Path);
        HiddenSize = hidden.Dimensions[2];
    }

    /// <summary>Encodes one 77-token sequence to [77 x D] floats and its text_embeds [P] (the pooled, projected
    /// embedding of SDXL's second encoder).</summary>
    public (FloatTensorData Hidden, float[] Pooled) EncodeWithPooled(int[] ids)
    {
        using var outputs = Run(ids, [_hiddenName, "text_embeds"]);
        return (Hidden(outputs.First()), OrtTensors.ReadFloats(outputs.Last(), _model.Path));
    }

    /// <summary>D, when the model declares it (-1 if dynamic).</summary>
    public int HiddenSize { get; }

    public OnnxModel Model => _model;

    /// <summary>Encodes one 77-token sequence to [77 x D] floats.</summary>
    public FloatTensorData Encode(int[] ids)
    {
        using var outputs = Run(ids, [_hiddenName]);
        return Hidden(outputs.First());
    }

    private IDisposableReadOnlyCollection<OrtValue> Run(int[] ids, string[] outputNames)
    {
        using var input = _ids.ElementType == TensorElementType.Int32
            ? OrtTensors.Wrap(ids.ToArray(), 1, ids.Length)
            : OrtTensors.Wrap(ids.Select(i => (long)i).ToArray(), 1, ids.Length);
        return _model.Run([_ids.Name], [input], outputNames);
    }

    private FloatTensorData Hidden(OrtValue value)
    {
        var shape = value.GetTensorTypeAndShape().Shape;
        return new FloatTensorData(OrtTensors.ReadFloats(value, _model.Path), (int)shape[1], (int)shape[2]);
    }

    public void Dispose() => _model.Dispose();
}

/// <summary>A [tokens x dim] block of embeddings.</summary>
public sealed record FloatTensorData(float[] Data, int Tokens, int Dim);
