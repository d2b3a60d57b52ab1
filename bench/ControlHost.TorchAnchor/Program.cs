using System.Diagnostics;
using ControlHost.Checkpoints.Safetensors;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

// dotnet run -c Release --project bench/ControlHost.TorchAnchor -- CHECKPOINT CONTROLNET [threads] [repeats]
// Per guidance step (batch 2, 64x64 latent = 512x512) of the SD 1.5 UNet with 0 and 1 ControlNet in LibTorch, written
// from the original (ldm/cldm) names with scaled_dot_product_attention, weights read from the same .safetensors files
// ControlHost loads. Prints one markdown row per configuration.
var threads = args.Length > 2 ? int.Parse(args[2]) : 2;
var repeats = args.Length > 3 ? int.Parse(args[3]) : 3;
torch.set_num_threads(threads);
using var noGrad = torch.no_grad();
var unet = Weights.Load(args[0], "model.diffusion_model.");
var control = Weights.Load(args[1], File.Exists(args[1]) && Weights.HasPrefix(args[1], "control_model.") ? "control_model." : "");
var gen = new torch.Generator(1);
var x = torch.randn([2, 4, 64, 64], generator: gen);
var t = torch.tensor(new float[] { 500, 500 });
var ctx = torch.randn([2, 77, 768], generator: gen);
var hint = torch.rand([2, 3, 512, 512], generator: gen);
foreach (var units in new[] { 0, 1 })
{
    var times = new List<double>();
    for (var r = 0; r < repeats + 1; r++)
    {
        using var scope = torch.NewDisposeScope();
        var clock = Stopwatch.StartNew();
        Tensor[]? residuals = units == 1 ? Sd15.ControlNet(control, x, t, ctx, hint) : null;
        Sd15.Unet(unet, x, t, ctx, residuals);
        if (r > 0) times.Add(clock.Elapsed.TotalSeconds); // the first run warms up
    }
    Console.WriteLine($"| LibTorch {torch.__version__} (TorchSharp), {threads} threads, {units} ControlNet | {times.Average():0.00} s per guidance step (mean of {repeats}) |");
}

/// <summary>Named float32 tensors from a .safetensors file, under a key prefix.</summary>
internal sealed class Weights(Dictionary<string, Tensor> map)
{
    public Tensor this[string name] => map.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException(name);
    public bool Has(string name) => map.ContainsKey(name);

    public static bool HasPrefix(string path, string prefix)
    {
        using var f = SafetensorsFile.Open(path);
        return f.Names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal));
    }

    public static Weights Load(string path, string prefix)
    {
        using var f = SafetensorsFile.Open(path);
        var map = new Dictionary<string, Tensor>();
        foreach (var e in f.Entries.Values.Where(e => e.Name.StartsWith(prefix, StringComparison.Ordinal) && e.IsFloat))
            map[e.Name[prefix.Length..]] = torch.tensor(f.ReadFloats(e.Name), e.Shape);
        return new Weights(map);
    }
}

/// <summary>The SD 1.5 UNet and ControlNet forward passes over ldm names (functional LibTorch).</summary>
internal static class Sd15
{
    private const int Heads = 8;

    public static Tensor Unet(Weights w, Tensor x, Tensor t, Tensor ctx, Tensor[]? residuals)
    {
        var emb = TimeEmbedding(w, t);
        var skips = new List<Tensor>();
        var h = x;
        for (var i = 0; w.Has($"input_blocks.{i}.0.weight") || w.Has($"input_blocks.{i}.0.in_layers.0.weight") || w.Has($"input_blocks.{i}.0.op.weight"); i++)
        {
            h = Step(w, $"input_blocks.{i}", h, emb, ctx);
            skips.Add(h);
        }
        h = Step(w, "middle_block", h, emb, ctx);
        if (residuals is not null)
        {
            for (var i = 0; i < skips.Count; i++) skips[i] = skips[i] + residuals[i];
            h = h + residuals[^1];
        }
        for (var i = 0; w.Has($"output_blocks.{i}.0.in_layers.0.weight"); i++)
        {
            var skip = skips[^1];
            skips.RemoveAt(skips.Count - 1);
            h = Step(w, $"output_blocks.{i}", torch.cat([h, skip], 1), emb, ctx);
        }
        return Conv(w, "out.2", F.silu(Norm(w, "out.0", h, 1e-5)));
    }

    public static Tensor[] ControlNet(Weights w, Tensor x, Tensor t, Tensor ctx, Tensor hint)
    {
        var emb = TimeEmbedding(w, t);
        var g = hint;
        var convs = Enumerable.Range(0, 16).Where(i => w.Has($"input_hint_block.{i}.weight")).ToArray();
        for (var k = 0; k < convs.Length; k++)
        {
            g = Conv(w, $"input_hint_block.{convs[k]}", g, k is 2 or 4 or 6 ? 2 : 1);
            if (k < convs.Length - 1) g = F.silu(g);
        }
        var outs = new List<Tensor>();
        var h = x;
        for (var i = 0; w.Has($"zero_convs.{i}.0.weight"); i++)
        {
            h = Step(w, $"input_blocks.{i}", h, emb, ctx);
            if (i == 0) h = h + g;
            outs.Add(Conv(w, $"zero_convs.{i}.0", h));
        }
        h = Step(w, "middle_block", h, emb, ctx);
        outs.Add(Conv(w, "middle_block_out.0", h));
        return outs.ToArray();
    }

    private static Tensor TimeEmbedding(Weights w, Tensor t)
    {
        var dim = w["time_embed.0.weight"].shape[1];
        var half = dim / 2;
        var freqs = torch.exp(-Math.Log(10000) * torch.arange(half, dtype: float32) / half);
        var args = t.unsqueeze(1) * freqs.unsqueeze(0);
        var features = torch.cat([torch.cos(args), torch.sin(args)], 1);
        return F.linear(F.silu(F.linear(features, w["time_embed.0.weight"], w["time_embed.0.bias"])), w["time_embed.2.weight"], w["time_embed.2.bias"]);
    }

    private static Tensor Step(Weights w, string block, Tensor h, Tensor emb, Tensor ctx)
    {
        for (var j = 0; ; j++)
        {
            var p = $"{block}.{j}";
            if (w.Has(p + ".in_layers.0.weight")) h = Res(w, p, h, emb);
            else if (w.Has(p + ".proj_in.weight")) h = Transformer(w, p, h, ctx);
            else if (w.Has(p + ".op.weight")) h = Conv(w, p + ".op", h, 2);
            else if (w.Has(p + ".conv.weight")) h = Conv(w, p + ".conv", F.interpolate(h, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest));
            else if (w.Has(p + ".weight")) h = Conv(w, p, h);
            else return h;
        }
    }

    private static Tensor Res(Weights w, string p, Tensor x, Tensor emb)
    {
        var h = Conv(w, p + ".in_layers.2", F.silu(Norm(w, p + ".in_layers.0", x, 1e-5)));
        h = h + F.linear(F.silu(emb), w[p + ".emb_layers.1.weight"], w[p + ".emb_layers.1.bias"]).unsqueeze(2).unsqueeze(3);
        h = Conv(w, p + ".out_layers.3", F.silu(Norm(w, p + ".out_layers.0", h, 1e-5)));
        return (w.Has(p + ".skip_connection.weight") ? Conv(w, p + ".skip_connection", x) : x) + h;
    }

    private static Tensor Transformer(Weights w, string p, Tensor x, Tensor ctx)
    {
        var (b, c, hh, ww) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var t = Conv(w, p + ".proj_in", Norm(w, p + ".norm", x, 1e-6)).reshape(b, c, hh * ww).transpose(1, 2);
        var k = $"{p}.transformer_blocks.0";
        t = t + Attention(w, k + ".attn1", LayerNorm(w, k + ".norm1", t), null);
        t = t + Attention(w, k + ".attn2", LayerNorm(w, k + ".norm2", t), ctx);
        var projected = Linear(w, k + ".ff.net.0.proj", LayerNorm(w, k + ".norm3", t));
        var halves = projected.chunk(2, -1);
        t = t + Linear(w, k + ".ff.net.2", halves[0] * F.gelu(halves[1]));
        return x + Conv(w, p + ".proj_out", t.transpose(1, 2).reshape(b, c, hh, ww));
    }

    private static Tensor Attention(Weights w, string p, Tensor x, Tensor? ctx)
    {
        var kv = ctx ?? x;
        Tensor Heads4(Tensor z) => z.reshape(z.shape[0], z.shape[1], Heads, z.shape[2] / Heads).transpose(1, 2);
        var q = Heads4(Linear(w, p + ".to_q", x));
        var k = Heads4(Linear(w, p + ".to_k", kv));
        var v = Heads4(Linear(w, p + ".to_v", kv));
        var o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2);
        return Linear(w, p + ".to_out.0", o.reshape(o.shape[0], o.shape[1], o.shape[2] * o.shape[3]));
    }

    private static Tensor Linear(Weights w, string p, Tensor x) =>
        F.linear(x, w[p + ".weight"], w.Has(p + ".bias") ? w[p + ".bias"] : null);

    private static Tensor Conv(Weights w, string p, Tensor x, int stride = 1)
    {
        var weight = w[p + ".weight"];
        var pad = weight.shape[2] / 2;
        return F.conv2d(x, weight, w.Has(p + ".bias") ? w[p + ".bias"] : null, strides: [stride, stride], padding: [pad, pad]);
    }

    private static Tensor Norm(Weights w, string p, Tensor x, double eps) => F.group_norm(x, 32, w[p + ".weight"], w[p + ".bias"], eps);

    private static Tensor LayerNorm(Weights w, string p, Tensor x) => F.layer_norm(x, [x.shape[^1]], w[p + ".weight"], w[p + ".bias"], 1e-5);
}
