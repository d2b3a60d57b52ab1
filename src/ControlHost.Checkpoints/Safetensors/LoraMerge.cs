using System.Numerics.Tensors;

namespace ControlHost.Checkpoints.Safetensors;

/// <summary>
/// LoRA deltas to merge as weights are read: W + multiplier * (alpha / rank) * up @ down for every LoRA that targets W
/// (linear [out,in] and convolution [out,in,k,k] weights; a convolution LoRA's down is [r,in,k,k] and up [out,r,1,1]).
/// </summary>
public sealed class LoraMerge
{
    private readonly Dictionary<string, List<LoraDelta>> _byWeight = new(StringComparer.Ordinal);

    public void Add(LoraDelta delta)
    {
        if (!_byWeight.TryGetValue(delta.Target, out var list)) _byWeight[delta.Target] = list = [];
        list.Add(delta);
    }

    public void Clear() => _byWeight.Clear();
    public IEnumerable<string> Targets => _byWeight.Keys;

    /// <summary>Adds every delta that targets <paramref name="name"/> into <paramref name="values"/>.</summary>
    public void Apply(string name, long[] shape, float[] values)
    {
        if (!_byWeight.TryGetValue(name, out var deltas)) return;
        foreach (var d in deltas) d.AddInto(shape, values);
    }
}

/// <summary>One LoRA module's low-rank update of one weight, or of a block of its rows (<paramref name="RowOffset"/>:
/// OpenCLIP fuses q, k and v into one in_proj_weight, which LoRAs name as three modules).</summary>
public sealed record LoraDelta(string Target, string Source, float[] Up, long[] UpShape, float[] Down, long[] DownShape, float Scale, long? RowOffset = null)
{
    public int Rank => (int)DownShape[0];

    /// <summary>values += Scale * (up [out, r]) @ (down [r, in*k*k]), a row at a time with SIMD multiply-adds.</summary>
    public void AddInto(long[] targetShape, float[] values)
    {
        var rows = UpShape[0];
        var cols = values.LongLength / targetShape[0];
        var r = Rank;
        var offset = RowOffset ?? 0;
        if ((RowOffset is null ? rows != targetShape[0] : offset + rows > targetShape[0]) || Down.LongLength / r != cols || Up.LongLength != rows * r)
            throw new CheckpointException(Source,
                $"LoRA module for '{Target}' is up [{string.Join(",", UpShape)}] x down [{string.Join(",", DownShape)}], which does not fit the weight " +
                $"[{string.Join(",", targetShape)}]: the LoRA was made for another base model");
        var width = (int)cols;
        for (long o = 0; o < rows; o++)
        {
            var target = values.AsSpan((int)((offset + o) * cols), width);
            for (var k = 0; k < r; k++)
            {
                var u = Up[o * r + k] * Scale;
                if (u == 0) continue;
                // target += u * down[k]: float32 sums over the rank (16 or so terms), well inside the 1e-4 parity bound
                TensorPrimitives.MultiplyAdd(Down.AsSpan(k * width, width), u, target, target);
            }
        }
    }
}
