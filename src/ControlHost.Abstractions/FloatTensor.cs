namespace ControlHost.Abstractions;

/// <summary>A dense row-major float32 tensor: the currency between the engine and branches.</summary>
public sealed class FloatTensor
{
    /// <summary>Wraps <paramref name="data"/> (not copied) with the given shape.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the data length.</exception>
    public FloatTensor(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(",", shape)}]", nameof(shape));
            count *= d;
        }
        if (count != data.Length)
            throw new ArgumentException($"shape [{string.Join(",", shape)}] holds {count} values but the data has {data.Length}", nameof(shape));
        Data = data;
        Shape = (int[])shape.Clone();
    }

    /// <summary>A zero-filled tensor of the given shape.</summary>
    public static FloatTensor Zeros(params int[] shape)
    {
        long count = 1;
        foreach (var d in shape) count *= d;
        return new FloatTensor(new float[count], shape);
    }

    /// <summary>The values, row-major.</summary>
    public float[] Data { get; }

    /// <summary>The dimensions, outermost first.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The shape as text, e.g. "[2,4,16,16]".</summary>
    public string ShapeText => $"[{string.Join(",", Shape)}]";

    /// <summary>True when <paramref name="other"/> has the same dimensions.</summary>
    public bool SameShape(FloatTensor other) => Shape.SequenceEqual(other.Shape);
}
