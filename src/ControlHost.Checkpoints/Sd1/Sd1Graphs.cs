using ControlHost.Checkpoints.Onnx;

namespace ControlHost.Checkpoints.Sd1;

/// <summary>
/// The ONNX graphs of an SD 1.x model, built from the weights in hand (original latent-diffusion names) into the
/// folder contract's inputs and outputs (DESIGN.md section 3). Widths, depths, attention placement, in-channels and
/// context width come from the tensor shapes; the head count is the family's (SD 1.x: 8 heads at every level).
/// </summary>
public static class Sd1Graphs
{
    /// <summary>SD 1.x: 8 heads at every width.</summary>
    public static readonly HeadRule UnetHeads = HeadRule.Fixed(8);

    /// <summary>The text encoder's initializer that holds textual-inversion vectors after the vocabulary.</summary>
    public const string EmbeddingRowsName = "textual_inversion.rows";

    /// <summary>
    /// The UNet with ControlNet residual inputs: sample [B,C,h,w], timestep [B], encoder_hidden_states [B,S,D],
    /// down_block_{i}_additional_residual [B,C_i,h_i,w_i] (each with its own symbolic size), mid_block_additional_residual
    /// -> out_sample [B,4,h,w].
    /// </summary>
    public static OnnxGraph Unet(IWeightSource weights, string prefix = "model.diffusion_model.", HeadRule? heads = null)
    {
        var g = new OnnxGraph("unet");
        var l = new Layers(g, weights);
        var u = new UnetBlocks(l, prefix, heads ?? UnetHeads);
        var inCh = weights.Shape(prefix + "input_blocks.0.0.weight")[1];
        var ctx = ContextWidth(weights, prefix);
        var sample = g.Input("sample", OnnxType.Float, "batch", inCh, "height", "width");
        var timestep = g.Input("timestep", OnnxType.Float, "batch");
        var context = g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", ctx);
        var emb = WithSizeConditioning(u, g, u.TimeEmbedding(timestep));

        var skips = new List<string>();
        var h = sample;
        for (var i = 0; u.BlockExists($"input_blocks.{i}"); i++)
        {
            h = u.Step(h, emb, context, $"input_blocks.{i}");
            skips.Add(h);
        }
        h = u.Step(h, emb, context, "middle_block");
        var channels = SkipChannels(weights, prefix, skips.Count);
        for (var i = 0; i < skips.Count; i++)
        {
            var name = $"down_block_{i}_additional_residual";
            skips[i] = l.Add(skips[i], g.Input(name, OnnxType.Float, "batch", channels[i], $"{name}_height", $"{name}_width"));
        }
        var midChannels = weights.Shape(prefix + "middle_block.0.out_layers.3.weight")[0];
        h = l.Add(h, g.Input("mid_block_additional_residual", OnnxType.Float, "batch", midChannels, "mid_block_additional_residual_height", "mid_block_additional_residual_width"));

        for (var i = 0; u.BlockExists($"output_blocks.{i}"); i++)
        {
            var skip = skips[^1];
            skips.RemoveAt(skips.Count - 1);
            h = u.Step(g.Node("Concat", [h, skip], null, ("axis", 1)), emb, context, $"output_blocks.{i}");
        }
        h = l.Conv(l.Silu(l.GroupNorm(h, prefix + "out.0", 1e-5f)), prefix + "out.2");
        g.Output(h, "out_sample", OnnxType.Float, "batch", weights.Shape(prefix + "out.2.weight")[0], "height", "width");
        return g;
    }

    /// <summary>SDXL's size conditioning (sgm's ConcatTimestepEmbedderND): each of the six numbers as 256 sinusoidal features.</summary>
    public const int TimeIdFeatures = 256;

    /// <summary>
    /// SDXL's vector conditioning, where the UNet has a label embedding: inputs text_embeds [B,P] (the pooled text
    /// embedding) and time_ids [B,6] (original height, width, crop top, left, target height, width); y = [text_embeds;
    /// 256 sinusoidal features of each time id] through label_emb (linear, SiLU, linear), added to the time embedding.
    /// </summary>
    private static string WithSizeConditioning(UnetBlocks u, OnnxGraph g, string emb)
    {
        if (!u.Has("label_emb.0.0.weight")) return emb;
        var l = u.L;
        var adm = l.Shape(u.Weight("label_emb.0.0.weight"))[1];
        var pooled = adm - 6 * TimeIdFeatures;
        if (pooled <= 0) throw new CheckpointException(u.Weight("label_emb.0.0.weight"), $"takes {adm} values; SDXL's is the pooled width plus 6 x {TimeIdFeatures}");
        var textEmbeds = g.Input("text_embeds", OnnxType.Float, "batch", pooled);
        var timeIds = g.Input("time_ids", OnnxType.Float, "batch", 6);
        var flat = g.Node("Reshape", [timeIds, g.ConstInts(-1)]);
        var features = g.Node("Reshape", [l.TimestepFeatures(flat, TimeIdFeatures), g.ConstInts(-1, 6 * TimeIdFeatures)]);
        var y = g.Node("Concat", [textEmbeds, features], null, ("axis", 1));
        var label = l.Linear(l.Silu(l.Linear(y, u.Weight("label_emb.0.0"))), u.Weight("label_emb.0.2"));
        return l.Add(emb, label);
    }

    /// <summary>
    /// The ControlNet (cldm layout): sample, timestep, encoder_hidden_states, controlnet_cond [B,3,H,W] in [0,1] (and
    /// SDXL's text_embeds and time_ids where it has a label embedding) -> the UNet's residual inputs, by name.
    /// </summary>
    public static OnnxGraph ControlNet(IWeightSource weights, string prefix, HeadRule? heads = null)
    {
        var g = new OnnxGraph("controlnet");
        var l = new Layers(g, weights);
        var u = new UnetBlocks(l, prefix, heads ?? UnetHeads);
        var ctx = ContextWidth(weights, prefix);
        var sample = g.Input("sample", OnnxType.Float, "batch", weights.Shape(prefix + "input_blocks.0.0.weight")[1], "height", "width");
        var timestep = g.Input("timestep", OnnxType.Float, "batch");
        var context = g.Input("encoder_hidden_states", OnnxType.Float, "batch", "sequence", ctx);
        var hint = g.Input("controlnet_cond", OnnxType.Float, "batch", 3, "hint_height", "hint_width");
        var emb = WithSizeConditioning(u, g, u.TimeEmbedding(timestep));
        var union = weights.Has(prefix + "task_embedding");
        string? controlType = null;
        if (union)
        {
            var types = weights.Shape(prefix + "task_embedding")[0];
            controlType = g.Input(UnionControlType, OnnxType.Float, "batch", types);
            // Each of the N one-hot values as 256 sinusoidal features, through a two-layer MLP, onto the time embedding.
            var features = g.Node("Reshape", [l.TimestepFeatures(g.Node("Reshape", [controlType, g.ConstInts(-1)]), UnionTypeFeatures), g.ConstInts(-1, types * UnionTypeFeatures)]);
            emb = l.Add(emb, l.Linear(l.Silu(l.Linear(features, prefix + "control_add_embedding.linear_1")), prefix + "control_add_embedding.linear_2"));
        }

        // The hint encoder: eight 3x3 convolutions with SiLU between; the 3rd, 5th and 7th have stride 2 (cldm's
        // input_hint_block, 8x down to the latent grid). Indices are 0, 2, ..., 14 (SiLU layers in between).
        var guided = hint;
        var convs = Enumerable.Range(0, 16).Where(i => weights.Has($"{prefix}input_hint_block.{i}.weight")).ToArray();
        if (convs.Length != 8)
            throw new CheckpointException(prefix + "input_hint_block", $"has {convs.Length} convolutions; a ControlNet's hint encoder has 8");
        for (var k = 0; k < convs.Length; k++)
        {
            guided = l.Conv(guided, $"{prefix}input_hint_block.{convs[k]}", stride: k is 2 or 4 or 6 ? 2 : 1);
            if (k < convs.Length - 1) guided = l.Silu(guided);
        }

        var h = sample;
        var outputs = new List<string>();
        for (var i = 0; u.BlockExists($"input_blocks.{i}"); i++)
        {
            h = u.Step(h, emb, context, $"input_blocks.{i}");
            if (i == 0) h = union ? UnionFuse(l, g, prefix, h, guided, controlType!) : l.Add(h, guided);
            outputs.Add(l.Conv(h, $"{prefix}zero_convs.{i}.0"));
        }
        h = u.Step(h, emb, context, "middle_block");
        var mid = l.Conv(h, prefix + "middle_block_out.0");
        for (var i = 0; i < outputs.Count; i++)
        {
            var name = $"down_block_{i}_additional_residual";
            g.Output(outputs[i], name, OnnxType.Float, "batch", weights.Shape($"{prefix}zero_convs.{i}.0.weight")[0], $"{name}_height", $"{name}_width");
        }
        g.Output(mid, "mid_block_additional_residual", OnnxType.Float, "batch", weights.Shape(prefix + "middle_block_out.0.weight")[0],
            "mid_block_additional_residual_height", "mid_block_additional_residual_width");
        return g;
    }

    /// <summary>A union ControlNet's extra input: the one-hot control type per entry [B,N].</summary>
    public const string UnionControlType = "control_type";

    /// <summary>Sinusoidal features per control-type value (diffusers' addition_time_embed_dim for SDXL).</summary>
    public const int UnionTypeFeatures = 256;

    /// <summary>
    /// xinsir's union ControlNet (diffusers' ControlNetUnionModel, one control type per run): two tokens per entry, the
    /// hint's encoding averaged over space plus the type's row of task_embedding (control_type @ task_embedding), and
    /// conv_in's output averaged over space, go through the pre-norm attention blocks (transformer_layes, attention
    /// over the entry's own tokens, quick GELU); the hint token's result through spatial_ch_projs is added per channel,
    /// with the hint's encoding, to conv_in's output.
    /// </summary>
    private static string UnionFuse(Layers l, OnnxGraph g, string prefix, string sample, string hint, string controlType)
    {
        var width = l.Shape(prefix + "task_embedding")[1];
        var hintToken = l.Add(g.Node("ReduceMean", [hint], null, ("axes", new long[] { 2, 3 }), ("keepdims", 0)),
            g.Node("MatMul", [controlType, l.Param(prefix + "task_embedding")]));
        var sampleToken = g.Node("ReduceMean", [sample], null, ("axes", new long[] { 2, 3 }), ("keepdims", 0));
        var x = g.Node("Concat", [l.Unsqueeze(hintToken, 1), l.Unsqueeze(sampleToken, 1)], null, ("axis", 1));
        for (var i = 0; l.Has($"{prefix}transformer_layes.{i}.ln_1.weight"); i++)
        {
            var p = $"{prefix}transformer_layes.{i}";
            var qkv = l.Linear(l.LayerNorm(x, p + ".ln_1"), p + ".attn.in_proj_weight", p + ".attn.in_proj_bias");
            var parts = l.SplitLast(qkv, width, 3);
            x = l.Add(x, l.Linear(l.Attention(parts[0], parts[1], parts[2], UnionHeads, width), p + ".attn.out_proj"));
            x = l.Add(x, l.Linear(l.QuickGelu(l.Linear(l.LayerNorm(x, p + ".ln_2"), p + ".mlp.c_fc")), p + ".mlp.c_proj"));
        }
        var first = g.Node("Squeeze", [g.Node("Slice", [x, g.ConstInts(0), g.ConstInts(1), g.ConstInts(1)]), g.ConstInts(1)]);
        var alpha = l.Unsqueeze(l.Linear(first, prefix + "spatial_ch_projs"), 2, 3);
        return l.Add(sample, l.Add(hint, alpha));
    }

    /// <summary>The union block's heads (diffusers' num_trans_head, 8 in xinsir's config; the weights do not say).</summary>
    public const int UnionHeads = 8;

    /// <summary>The VAE decoder: latent_sample [B,4,h,w] (already divided by the scaling factor) -> sample [B,3,8h,8w] in [-1,1].</summary>
    public static OnnxGraph VaeDecoder(IWeightSource weights, string prefix = "first_stage_model.")
    {
        var g = new OnnxGraph("vae_decoder");
        var l = new Layers(g, weights);
        var z = g.Input("latent_sample", OnnxType.Float, "batch", weights.Shape(prefix + "post_quant_conv.weight")[1], "height", "width");
        var d = prefix + "decoder.";
        var h = l.Conv(l.Conv(z, prefix + "post_quant_conv"), d + "conv_in");
        h = VaeMid(l, h, d + "mid");
        var levels = Enumerable.Range(0, 16).Count(i => weights.Has($"{d}up.{i}.block.0.norm1.weight"));
        for (var i = levels - 1; i >= 0; i--)
        {
            for (var j = 0; weights.Has($"{d}up.{i}.block.{j}.norm1.weight"); j++) h = VaeResnet(l, h, $"{d}up.{i}.block.{j}");
            if (weights.Has($"{d}up.{i}.upsample.conv.weight")) h = l.Conv(l.Upsample2x(h), $"{d}up.{i}.upsample.conv");
        }
        h = l.Conv(l.Silu(l.GroupNorm(h, d + "norm_out", 1e-6f)), d + "conv_out");
        g.Output(h, "sample", OnnxType.Float, "batch", 3, "image_height", "image_width");
        return g;
    }

    /// <summary>The VAE encoder: sample [B,3,H,W] in [-1,1] -> latent_sample [B,4,H/8,W/8], the distribution's mean (unscaled).</summary>
    public static OnnxGraph VaeEncoder(IWeightSource weights, string prefix = "first_stage_model.")
    {
        var g = new OnnxGraph("vae_encoder");
        var l = new Layers(g, weights);
        var e = prefix + "encoder.";
        var x = g.Input("sample", OnnxType.Float, "batch", 3, "height", "width");
        var h = l.Conv(x, e + "conv_in");
        for (var i = 0; weights.Has($"{e}down.{i}.block.0.norm1.weight"); i++)
        {
            for (var j = 0; weights.Has($"{e}down.{i}.block.{j}.norm1.weight"); j++) h = VaeResnet(l, h, $"{e}down.{i}.block.{j}");
            if (weights.Has($"{e}down.{i}.downsample.conv.weight"))
            {
                // latent diffusion pads right and bottom by one, then a 3x3 stride-2 convolution without padding
                var padded = g.Node("Pad", [h, g.ConstInts(0, 0, 0, 0, 0, 0, 1, 1)], null, ("mode", "constant"));
                h = l.Conv(padded, $"{e}down.{i}.downsample.conv", stride: 2, padding: 0);
            }
        }
        h = VaeMid(l, h, e + "mid");
        h = l.Conv(l.Silu(l.GroupNorm(h, e + "norm_out", 1e-6f)), e + "conv_out");
        h = l.Conv(h, prefix + "quant_conv");
        var latentChannels = weights.Shape(prefix + "quant_conv.weight")[0] / 2;
        var mean = g.Node("Slice", [h, g.ConstInts(0), g.ConstInts(latentChannels), g.ConstInts(1)]);
        g.Output(mean, "latent_sample", OnnxType.Float, "batch", latentChannels, "latent_height", "latent_width");
        return g;
    }

    private static string VaeResnet(Layers l, string x, string p)
    {
        var h = l.Conv(l.Silu(l.GroupNorm(x, p + ".norm1", 1e-6f)), p + ".conv1");
        h = l.Conv(l.Silu(l.GroupNorm(h, p + ".norm2", 1e-6f)), p + ".conv2");
        var skip = l.Has(p + ".nin_shortcut.weight") ? l.Conv(x, p + ".nin_shortcut") : x;
        return l.Add(skip, h);
    }

    private static string VaeMid(Layers l, string x, string p)
    {
        var h = VaeResnet(l, x, p + ".block_1");
        var c = l.Shape(p + ".attn_1.norm.weight")[0];
        var n = l.GroupNorm(h, p + ".attn_1.norm", 1e-6f);
        var q = l.ToTokens(l.Conv(n, p + ".attn_1.q"), c);
        var k = l.ToTokens(l.Conv(n, p + ".attn_1.k"), c);
        var v = l.ToTokens(l.Conv(n, p + ".attn_1.v"), c);
        var a = l.Conv(l.FromTokens(l.Attention(q, k, v, 1, c), h), p + ".attn_1.proj_out");
        h = l.Add(h, a);
        return VaeResnet(l, h, p + ".block_2");
    }

    /// <summary>
    /// CLIP's text transformer (Hugging Face names under <paramref name="prefix"/>): input_ids [B,77] int32 ->
    /// last_hidden_state [B,77,D] and pooler_output [B,D] (the end-of-text token's state). Extra token rows (textual
    /// inversion vectors) follow the vocabulary as ids 49408, 49409, ...: <paramref name="embeddingRows"/> rows, zero in the
    /// file, that a session fills by overriding the <see cref="EmbeddingRowsName"/> initializer (no graph rebuild).
    /// </summary>
    /// <param name="skipLast">Layers left out at the end (SDXL reads CLIP's penultimate layer: 1).</param>
    /// <param name="finalNorm">Whether the output goes through final_layer_norm (SD 1.x: yes; SDXL's penultimate: no).</param>
    public static OnnxGraph TextEncoder(IWeightSource weights, string prefix, int embeddingRows = 0, int skipLast = 0, bool finalNorm = true)
    {
        var g = new OnnxGraph("text_encoder");
        var l = new Layers(g, weights);
        var emb = prefix + "embeddings.";
        var d = weights.Shape(emb + "token_embedding.weight")[1];
        var positions = weights.Shape(emb + "position_embedding.weight")[0];
        var heads = (int)Math.Max(1, d / 64); // CLIP's heads are 64 wide (ViT-L/14: 768 / 12)
        var ids = g.Input("input_ids", OnnxType.Int32, "batch", positions);
        var ids64 = g.Node("Cast", [ids], null, ("to", (int)OnnxType.Int64));
        var x = l.Add(l.TokenEmbeddings(ids64, emb + "token_embedding.weight", d, embeddingRows, EmbeddingRowsName), l.Param(emb + "position_embedding.weight"));
        var causal = l.CausalMask(positions);
        var layers = Enumerable.Range(0, 256).Count(i => weights.Has($"{prefix}encoder.layers.{i}.layer_norm1.weight"));
        for (var i = 0; i < layers - skipLast; i++)
        {
            var p = $"{prefix}encoder.layers.{i}";
            var h = l.LayerNorm(x, p + ".layer_norm1");
            var a = l.Attention(l.Linear(h, p + ".self_attn.q_proj"), l.Linear(h, p + ".self_attn.k_proj"), l.Linear(h, p + ".self_attn.v_proj"), heads, d, causal);
            x = l.Add(x, l.Linear(a, p + ".self_attn.out_proj"));
            x = l.Add(x, l.Linear(l.QuickGelu(l.Linear(l.LayerNorm(x, p + ".layer_norm2"), p + ".mlp.fc1")), p + ".mlp.fc2"));
        }
        if (!finalNorm)
        {
            g.Output(x, "last_hidden_state", OnnxType.Float, "batch", positions, d);
            return g;
        }
        var last = l.LayerNorm(x, prefix + "final_layer_norm");
        // pooled: the state at the end-of-text token, the sequence's highest id
        var at = g.Node("ArgMax", [ids64], null, ("axis", 1), ("keepdims", 1));
        var index = g.Node("Expand", [l.Unsqueeze(at, 2), g.ConstInts(1, 1, d)]);
        var pooled = g.Node("Squeeze", [g.Node("GatherElements", [last, index], null, ("axis", 1)), g.ConstInts(1)]);
        g.Output(last, "last_hidden_state", OnnxType.Float, "batch", positions, d);
        g.Output(pooled, "pooler_output", OnnxType.Float, "batch", d);
        return g;
    }

    /// <summary>The cross-attention context width (D of encoder_hidden_states).</summary>
    public static long ContextWidth(IWeightSource weights, string prefix)
    {
        var key = FirstCrossAttention(weights, prefix)
            ?? throw new CheckpointException(prefix, "has no cross-attention (attn2.to_k) weights: not a Stable Diffusion UNet");
        return weights.Shape(key)[1];
    }

    private static string? FirstCrossAttention(IWeightSource weights, string prefix)
    {
        foreach (var block in new[] { "input_blocks.1.1", "input_blocks.4.1", "input_blocks.7.1", "middle_block.1" })
        {
            var key = $"{prefix}{block}.transformer_blocks.0.attn2.to_k.weight";
            if (weights.Has(key)) return key;
        }
        return null;
    }

    private static long[] SkipChannels(IWeightSource weights, string prefix, int count)
    {
        var channels = new long[count];
        channels[0] = weights.Shape(prefix + "input_blocks.0.0.weight")[0];
        for (var i = 1; i < count; i++)
        {
            var res = $"{prefix}input_blocks.{i}.0.out_layers.3.weight";
            channels[i] = weights.Has(res) ? weights.Shape(res)[0] : weights.Shape($"{prefix}input_blocks.{i}.0.op.weight")[0];
        }
        return channels;
    }
}
