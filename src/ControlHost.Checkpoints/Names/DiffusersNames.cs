namespace ControlHost.Checkpoints.Names;

/// <summary>
/// diffusers' state-dict names translated to the original (ldm) ones the graph builders read: the UNet, the VAE and
/// the ControlNet (two resnets per down level plus a downsampler, three per up level plus an upsampler; SDXL's
/// add_embedding is ldm's label_emb).
/// Keys that have no counterpart come back null and are reported, not guessed.
/// </summary>
public static class DiffusersNames
{
    private static readonly (string Diffusers, string Ldm)[] ResnetParts =
    [
        ("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
        ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection"),
    ];

    /// <summary>A UNet (or a ControlNet's UNet-encoder) key; <paramref name="upHasAttention"/> says whether an up block has attentions.</summary>
    public static string? Unet(string key, Func<int, bool> upHasAttention)
    {
        var p = key.Split('.');
        var leaf = p[^1];
        string Join(int from) => string.Join('.', p[from..]);
        switch (p[0])
        {
            case "conv_in": return $"input_blocks.0.0.{leaf}";
            case "conv_norm_out": return $"out.0.{leaf}";
            case "conv_out": return $"out.2.{leaf}";
            case "time_embedding": return p[1] switch { "linear_1" => $"time_embed.0.{leaf}", "linear_2" => $"time_embed.2.{leaf}", _ => null };
            // SDXL's vector conditioning (pooled text and size numbers)
            case "add_embedding": return p[1] switch { "linear_1" => $"label_emb.0.0.{leaf}", "linear_2" => $"label_emb.0.2.{leaf}", _ => null };
        }
        if (p.Length < 4) return null;
        if (p[0] == "down_blocks" && int.TryParse(p[1], out var b))
        {
            if (p[2] == "downsamplers") return $"input_blocks.{3 * (b + 1)}.0.op.{leaf}";
            if (!int.TryParse(p[3], out var k)) return null;
            var block = 3 * b + k + 1;
            return p[2] == "resnets" ? $"input_blocks.{block}.0.{Resnet(Join(4))}" : p[2] == "attentions" ? $"input_blocks.{block}.1.{Join(4)}" : null;
        }
        if (p[0] == "up_blocks" && int.TryParse(p[1], out b))
        {
            if (p[2] == "upsamplers") return $"output_blocks.{3 * b + 2}.{(upHasAttention(b) ? 2 : 1)}.conv.{leaf}";
            if (!int.TryParse(p[3], out var k)) return null;
            var block = 3 * b + k;
            return p[2] == "resnets" ? $"output_blocks.{block}.0.{Resnet(Join(4))}" : p[2] == "attentions" ? $"output_blocks.{block}.1.{Join(4)}" : null;
        }
        if (p[0] == "mid_block" && int.TryParse(p[2], out var m))
        {
            if (p[1] == "resnets") return $"middle_block.{(m == 0 ? 0 : 2)}.{Resnet(Join(3))}";
            if (p[1] == "attentions") return $"middle_block.1.{Join(3)}";
        }
        return null;
    }

    private static string Resnet(string tail)
    {
        foreach (var (d, l) in ResnetParts)
            if (tail.StartsWith(d + ".", StringComparison.Ordinal)) return l + tail[d.Length..];
        return tail;
    }

    /// <summary>A ControlNet key: the hint encoder, the zero convolutions, then the UNet encoder's names.</summary>
    public static string? ControlNet(string key)
    {
        var p = key.Split('.');
        var leaf = p[^1];
        if (p[0] == "controlnet_cond_embedding")
        {
            if (p[1] == "conv_in") return $"input_hint_block.0.{leaf}";
            if (p[1] == "conv_out") return $"input_hint_block.14.{leaf}";
            return p[1] == "blocks" && int.TryParse(p[2], out var i) ? $"input_hint_block.{2 * (i + 1)}.{leaf}" : null;
        }
        if (p[0] == "controlnet_down_blocks") return $"zero_convs.{p[1]}.0.{leaf}";
        // A union ControlNet's parts have no cldm counterpart; the graph builder reads them under these names.
        if (p[0] is "task_embedding" or "transformer_layes" or "spatial_ch_projs" or "control_add_embedding") return key;
        if (p[0] == "controlnet_mid_block") return $"middle_block_out.0.{leaf}";
        return Unet(key, _ => false);
    }

    /// <summary>A VAE key (encoder.* or decoder.*, quant convs), given the number of resolution levels.</summary>
    public static string? Vae(string key, int levels)
    {
        var p = key.Split('.');
        var leaf = p[^1];
        if (p[0] is "quant_conv" or "post_quant_conv") return key;
        if (p[0] is not ("encoder" or "decoder") || p.Length < 3) return null;
        var side = p[0];
        string Join(int from) => string.Join('.', p[from..]);
        switch (p[1])
        {
            case "conv_in" or "conv_out": return key;
            case "conv_norm_out": return $"{side}.norm_out.{leaf}";
            case "down_blocks" or "up_blocks" when int.TryParse(p[2], out var i):
                var level = p[1] == "down_blocks" ? i : levels - 1 - i;
                var ldmSide = p[1] == "down_blocks" ? "down" : "up";
                if (p[3] == "resnets") return $"{side}.{ldmSide}.{level}.block.{p[4]}.{Join(5).Replace("conv_shortcut", "nin_shortcut")}";
                if (p[3] == "downsamplers") return $"{side}.down.{level}.downsample.{Join(5)}";
                if (p[3] == "upsamplers") return $"{side}.up.{level}.upsample.{Join(5)}";
                return null;
            case "mid_block" when p[2] == "resnets":
                return $"{side}.mid.block_{int.Parse(p[3]) + 1}.{Join(4).Replace("conv_shortcut", "nin_shortcut")}";
            case "mid_block" when p[2] == "attentions":
                var part = Join(4);
                // current diffusers names, then the older query/key/value/proj_attn ones
                var ldm = part switch
                {
                    _ when part.StartsWith("group_norm.", StringComparison.Ordinal) => "norm",
                    _ when part.StartsWith("to_q.", StringComparison.Ordinal) || part.StartsWith("query.", StringComparison.Ordinal) => "q",
                    _ when part.StartsWith("to_k.", StringComparison.Ordinal) || part.StartsWith("key.", StringComparison.Ordinal) => "k",
                    _ when part.StartsWith("to_v.", StringComparison.Ordinal) || part.StartsWith("value.", StringComparison.Ordinal) => "v",
                    _ when part.StartsWith("to_out.0.", StringComparison.Ordinal) || part.StartsWith("proj_attn.", StringComparison.Ordinal) => "proj_out",
                    _ => null,
                };
                return ldm is null ? null : $"{side}.mid.attn_1.{ldm}.{leaf}";
        }
        return null;
    }
}
