using ControlHost.Engine.Scheduling;

namespace ControlHost.Engine.Tests;

public class NoiseGeneratorTests
{
    [Fact]
    public void Same_seed_same_sequence_different_seed_different_sequence()
    {
        Assert.Equal(new NoiseGenerator(42).Normal(64), new NoiseGenerator(42).Normal(64));
        Assert.NotEqual(new NoiseGenerator(42).Normal(64), new NoiseGenerator(43).Normal(64));
    }

    [Fact]
    public void Normals_have_zero_mean_and_unit_variance()
    {
        var v = new NoiseGenerator(1).Normal(200_000);
        var mean = v.Average(x => (double)x);
        var variance = v.Average(x => (x - mean) * (x - mean));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(variance, 0.98, 1.02);
    }

    [Fact]
    public void Bits_match_an_independent_xoshiro256_starstar_with_splitmix64_seeding()
    {
        // Reference values from a separate Python implementation of SplitMix64 (state 0 -> 0xe220a8397b1dcdaf
        // first, the published first output) feeding xoshiro256**. Seeds must keep giving the same images.
        var g = new NoiseGenerator(0);
        Assert.Equal(11091344671253066420UL, g.NextUInt64());
        Assert.Equal(13793997310169335082UL, g.NextUInt64());
        Assert.Equal(1900383378846508768UL, g.NextUInt64());
    }
}
