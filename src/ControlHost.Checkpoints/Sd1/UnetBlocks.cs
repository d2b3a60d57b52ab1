using ControlHost.Checkpoints.Onnx;

namespace ControlHost.Checkpoints.Sd1;

/// <summary>
/// The pieces of latent diffusion's UNet (ResBlock, SpatialTransformer, Downsample, Upsample) emitted under their
/// original names. What each block holds is read from the weights present, so one walker serves every width, depth
/// and attention layout (SD 1.x and SD 2.x differ in proj_in/proj_out being 1x1 convolutions or linear layers).
/// </summary>
internal sealed class UnetBlocks(Layers l, string prefix, HeadRule heads)
{
    public Layers L => l;

    public string Weight(string name) => prefix + name;
    public bool Has(string name) => l.Has(prefix + name);

    /// <summary>The time embedding: sinusoidal features -> linear -> SiLU -> linear.</summary>
    public string TimeEmbedding(string timestep)
    {
        var width = (int)l.Shape(prefix + "time_embed.0.weight")[1];
        var f = l.TimestepFeatures(timestep, width);
        return l.Linear(l.Silu(l.Linear(f, prefix + "time_embed.0")), prefix + "time_embed.2");
    }

    /// <summary>One TimestepEmbedSequential: each layer present under prefix.i.j, in order.</summary>
    public string Step(string x, string emb, string context, string block)
    {
        for (var j = 0; ; j++)
        {
            var p = $"{block}.{j}";
            if (Has(p + ".in_layers.0.weight")) x = ResBlock(x, emb, prefix + p);
            else if (Has(p + ".proj_in.weight")) x = Transformer(x, context, prefix + p);
            else if (Has(p + ".op.weight")) x = l.Conv(x, prefix + p + ".op", stride: 2);
            else if (Has(p + ".conv.weight")) x = l.Conv(l.Upsample2x(x), prefix + p + ".conv");
            else if (Has(p + ".weight")) x = l.Conv(x, prefix + p); // conv_in (input_blocks.0.0)
            else return x;
        }
    }

    public bool BlockExists(string block) => Has(block + ".0.weight") || Has(block + ".0.in_layers.0.weight") || Has(block + ".0.op.weight");

    private string ResBlock(string x, string emb, string p)
    {
        var h = l.Conv(l.Silu(l.GroupNorm(x, p + ".in_layers.0", 1e-5f)), p + ".in_layers.2");
        var e = l.Unsqueeze(l.Linear(l.Silu(emb), p + ".emb_layers.1"), 2, 3);
        h = l.Add(h, e);
        h = l.Conv(l.Silu(l.GroupNorm(h, p + ".out_layers.0", 1e-5f)), p + ".out_layers.3");
        var skip = l.Has(p + ".skip_connection.weight") ? l.Conv(x, p + ".skip_connection") : x;
        return l.Add(skip, h);
    }

    private string Transformer(string x, string context, string p)
    {
        var c = l.Shape(p + ".norm.weight")[0];
        var linearProjection = l.Shape(p + ".proj_in.weight").Length == 2;
        var h = l.GroupNorm(x, p + ".norm", 1e-6f);
        string t;
        if (linearProjection) t = l.Linear(l.ToTokens(h, c), p + ".proj_in");
        else t = l.ToTokens(l.Conv(h, p + ".proj_in"), c);
        for (var k = 0; l.Has($"{p}.transformer_blocks.{k}.norm1.weight"); k++)
        {
            var b = $"{p}.transformer_blocks.{k}";
            t = l.Add(t, SelfOrCross(l.LayerNorm(t, b + ".norm1"), null, b + ".attn1", c));
            t = l.Add(t, SelfOrCross(l.LayerNorm(t, b + ".norm2"), context, b + ".attn2", c));
            t = l.Add(t, FeedForward(l.LayerNorm(t, b + ".norm3"), b + ".ff"));
        }
        var back = linearProjection ? l.FromTokens(l.Linear(t, p + ".proj_out"), x) : l.Conv(l.FromTokens(t, x), p + ".proj_out");
        return l.Add(x, back);
    }

    private string SelfOrCross(string t, string? context, string p, long channels)
    {
        var kv = context ?? t;
        var a = l.Attention(l.Linear(t, p + ".to_q"), l.Linear(kv, p + ".to_k"), l.Linear(kv, p + ".to_v"), heads.For(channels), channels);
        return l.Linear(a, p + ".to_out.0");
    }

    private string FeedForward(string t, string p)
    {
        var inner = l.Shape(p + ".net.2.weight")[1];
        var projected = l.Linear(t, p + ".net.0.proj");
        string half = l.Graph.Fresh("geglu_half"), gate = l.Graph.Fresh("geglu_gate");
        l.Graph.Node("Split", [projected, l.Graph.ConstInts(inner, inner)], [half, gate], ("axis", -1));
        return l.Linear(l.Mul(half, l.Gelu(gate)), p + ".net.2");
    }
}

/// <summary>
/// How a UNet's attention is split into heads: SD 1.x uses a fixed count (8 at every width), SD 2.x and SDXL heads of a
/// fixed width (num_head_channels 64: 5, 10 and 20 heads at 320, 640 and 1280 channels).
/// </summary>
public readonly record struct HeadRule(int Count, int Width)
{
    public static HeadRule Fixed(int count) => new(count, 0);
    public static HeadRule OfWidth(int width) => new(0, width);

    public int For(long channels)
    {
        if (Count > 0) return Count;
        if (channels % Width != 0)
            throw new CheckpointException("attention", $"{channels} channels do not split into heads {Width} wide");
        return (int)(channels / Width);
    }
}
