using ControlHost.Checkpoints.Onnx;
using ControlHost.Checkpoints.Sd1;

namespace ControlHost.Checkpoints.Sd2;

/// <summary>
/// OpenCLIP's text transformer under its own names (<c>token_embedding</c>, <c>positional_embedding</c>,
/// <c>transformer.resblocks.N.{ln_1, attn.in_proj_weight/bias, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}</c>,
/// <c>ln_final</c>), as SD 2.x checkpoints carry it under <c>cond_stage_model.model.</c>. Heads are 64 wide, the
/// activation is the exact GELU, attention is causal. SD 2.x reads the penultimate block's output through ln_final.
/// </summary>
public static class OpenClipGraphs
{
    /// <summary>CLIP's end-of-text token id.</summary>
    public const long EndToken = 49407;

    /// <summary>
    /// input_ids [B,77] int32 -> last_hidden_state [B,77,D]: the output of every block but the last
    /// <paramref name="skipLast"/>, through ln_final when <paramref name="normed"/> (SD 2.x: skip 1, normed). Extra
    /// token rows for textual-inversion vectors follow the vocabulary as in <see cref="Sd1Graphs.TextEncoder"/>.
    /// </summary>
    /// <param name="pooled">Also output text_embeds [B,P]: the last block's output through ln_final at the end-of-text
    /// token (its first position), times text_projection (SDXL's pooled embedding from bigG).</param>
    public static OnnxGraph TextEncoder(IWeightSource weights, string prefix, int skipLast = 1, bool normed = true, int embeddingRows = 0, bool pooled = false)
    {
        var g = new OnnxGraph("text_encoder");
        var l = new Layers(g, weights);
        var d = weights.Shape(prefix + "token_embedding.weight")[1];
        var positions = weights.Shape(prefix + "positional_embedding")[0];
        var heads = (int)(d / 64);
        if (heads < 1 || d % 64 != 0) throw new CheckpointException(prefix + "token_embedding.weight", $"is {d} wide; OpenCLIP's heads are 64 wide");
        var ids = g.Input("input_ids", OnnxType.Int32, "batch", positions);
        var ids64 = g.Node("Cast", [ids], null, ("to", (int)OnnxType.Int64));
        var x = l.Add(l.TokenEmbeddings(ids64, prefix + "token_embedding.weight", d, embeddingRows, Sd1Graphs.EmbeddingRowsName), l.Param(prefix + "positional_embedding"));
        var causal = l.CausalMask(positions);
        var blocks = Enumerable.Range(0, 256).Count(i => weights.Has($"{prefix}transformer.resblocks.{i}.ln_1.weight"));
        if (blocks <= skipLast) throw new CheckpointException(prefix + "transformer.resblocks", $"has {blocks} blocks; at least {skipLast + 1} are needed");
        string Block(string h, int i)
        {
            var p = $"{prefix}transformer.resblocks.{i}";
            var qkv = l.Linear(l.LayerNorm(h, p + ".ln_1"), p + ".attn.in_proj_weight", p + ".attn.in_proj_bias");
            var parts = l.SplitLast(qkv, d, 3);
            h = l.Add(h, l.Linear(l.Attention(parts[0], parts[1], parts[2], heads, d, causal), p + ".attn.out_proj"));
            return l.Add(h, l.Linear(l.Gelu(l.Linear(l.LayerNorm(h, p + ".ln_2"), p + ".mlp.c_fc")), p + ".mlp.c_proj"));
        }
        for (var i = 0; i < blocks - skipLast; i++) x = Block(x, i);
        var hidden = normed ? l.LayerNorm(x, prefix + "ln_final") : x;
        g.Output(hidden, "last_hidden_state", OnnxType.Float, "batch", positions, d);
        if (!pooled) return g;
        var full = x;
        for (var i = blocks - skipLast; i < blocks; i++) full = Block(full, i);
        var last = l.LayerNorm(full, prefix + "ln_final");
        // The end token's first position (embedding rows take ids above it, so the highest id is not the end).
        var isEnd = g.Node("Cast", [g.Node("Equal", [ids64, g.ConstInts(EndToken)])], null, ("to", (int)OnnxType.Float));
        var at = g.Node("ArgMax", [isEnd], null, ("axis", 1), ("keepdims", 1));
        var index = g.Node("Expand", [l.Unsqueeze(at, 2), g.ConstInts(1, 1, d)]);
        var eot = g.Node("Squeeze", [g.Node("GatherElements", [last, index], null, ("axis", 1)), g.ConstInts(1)]);
        var projection = weights.Shape(prefix + "text_projection");
        g.Output(g.Node("MatMul", [eot, l.Param(prefix + "text_projection")]), "text_embeds", OnnxType.Float, "batch", projection[1]);
        return g;
    }
}
