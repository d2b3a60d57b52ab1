namespace ControlHost.Engine.Scheduling;

/// <summary>
/// The documented source of all randomness in a generation: xoshiro256** seeded through SplitMix64 from the
/// 32-bit seed, standard normals by the Box-Muller transform (both values of each pair used, cosine first).
/// Pure integer and IEEE float arithmetic, so the same seed gives the same noise on every machine.
/// </summary>
public sealed class NoiseGenerator
{
    private ulong _s0, _s1, _s2, _s3;
    private double? _spare;

    public NoiseGenerator(uint seed)
    {
        var x = (ulong)seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in (0, 1]: 53 random bits, never zero so that log() is finite.</summary>
    public double NextUniform() => ((NextUInt64() >> 11) + 1) * (1.0 / (1UL << 53));

    /// <summary>A standard normal value.</summary>
    public double NextNormal()
    {
        if (_spare is { } s)
        {
            _spare = null;
            return s;
        }
        var r = Math.Sqrt(-2.0 * Math.Log(NextUniform()));
        var theta = 2.0 * Math.PI * NextUniform();
        _spare = r * Math.Sin(theta);
        return r * Math.Cos(theta);
    }

    /// <summary>Fills <paramref name="destination"/> with standard normals.</summary>
    public void FillNormal(Span<float> destination)
    {
        for (var i = 0; i < destination.Length; i++) destination[i] = (float)NextNormal();
    }

    /// <summary>A fresh array of standard normals.</summary>
    public float[] Normal(int count)
    {
        var a = new float[count];
        FillNormal(a);
        return a;
    }

    private static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        var z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
