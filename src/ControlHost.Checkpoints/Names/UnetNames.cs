namespace ControlHost.Checkpoints.Names;

/// <summary>
/// Module paths of SD's UNet in the original (ldm) naming and in diffusers' naming, as data: kohya LoRAs and diffusers
/// files name modules the diffusers way, the graph builders read the ldm way. SD 1.x/2.x layout: three input blocks per
/// resolution level (two resnets with optional attention, then a downsample), three output blocks per level.
/// </summary>
public static class UnetNames
{
    private static readonly (string Ldm, string Diffusers)[] Resnet =
    [
        ("in_layers.0", "norm1"), ("in_layers.2", "conv1"), ("emb_layers.1", "time_emb_proj"),
        ("out_layers.0", "norm2"), ("out_layers.3", "conv2"), ("skip_connection", "conv_shortcut"),
    ];

    private static readonly (string Ldm, string Diffusers)[] TopLevel =
    [
        ("time_embed.0", "time_embedding.linear_1"), ("time_embed.2", "time_embedding.linear_2"),
        ("input_blocks.0.0", "conv_in"), ("out.0", "conv_norm_out"), ("out.2", "conv_out"),
    ];

    /// <summary>The diffusers path of an ldm module path (without the model.diffusion_model. prefix), or null.</summary>
    public static string? ToDiffusers(string ldm)
    {
        foreach (var (l, d) in TopLevel)
            if (ldm == l) return d;
        var parts = ldm.Split('.');
        if (parts.Length < 3) return null;
        string head;
        int rest;
        if (parts[0] == "input_blocks" && int.TryParse(parts[1], out var i) && int.TryParse(parts[2], out var j) && i > 0)
        {
            if (parts.Length > 3 && parts[3] == "op") return $"down_blocks.{i / 3 - 1}.downsamplers.0.conv";
            var (level, k) = ((i - 1) / 3, (i - 1) % 3);
            head = j == 0 ? $"down_blocks.{level}.resnets.{k}" : $"down_blocks.{level}.attentions.{k}";
            rest = 3;
        }
        else if (parts[0] == "output_blocks" && int.TryParse(parts[1], out i) && int.TryParse(parts[2], out j))
        {
            if (j > 0 && parts.Length > 3 && parts[3] == "conv") return $"up_blocks.{i / 3}.upsamplers.0.conv";
            head = j == 0 ? $"up_blocks.{i / 3}.resnets.{i % 3}" : $"up_blocks.{i / 3}.attentions.{i % 3}";
            rest = 3;
        }
        else if (parts[0] == "middle_block" && int.TryParse(parts[1], out j))
        {
            head = j switch { 0 => "mid_block.resnets.0", 1 => "mid_block.attentions.0", 2 => "mid_block.resnets.1", _ => "" };
            if (head.Length == 0) return null;
            rest = 2;
        }
        else return null;
        var tail = string.Join('.', parts.Skip(rest));
        if (head.Contains(".resnets.", StringComparison.Ordinal))
            foreach (var (l, d) in Resnet)
                if (tail == l) return $"{head}.{d}";
        return tail.Length == 0 ? head : $"{head}.{tail}";
    }
}
