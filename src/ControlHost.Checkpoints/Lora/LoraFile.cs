using ControlHost.Checkpoints.Import;
using ControlHost.Checkpoints.Layouts;
using ControlHost.Checkpoints.Names;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Lora;

/// <summary>Where a LoRA module lands: a whole checkpoint weight, or <paramref name="Rows"/> of its rows from
/// <paramref name="RowOffset"/> (a third of OpenCLIP's fused in_proj_weight).</summary>
public sealed record LoraTarget(string Weight, long? RowOffset = null, long? Rows = null);

/// <summary>What reading a LoRA against a checkpoint gave: its deltas by target weight, and the modules that matched nothing.</summary>
public sealed record LoraReading(string Name, IReadOnlyList<LoraDelta> Deltas, int Unmatched, int UnetModules, int TextModules);

/// <summary>
/// Reads a LoRA file (kohya/A1111 names: lora_unet_* / lora_te_* with .lora_down / .lora_up / .alpha; diffusers/PEFT
/// names with .lora_A / .lora_B) and maps each module to the checkpoint weight it updates, through names derived from
/// the checkpoint's own keys. A module of the wrong shape means a LoRA for another base, an error naming the key.
/// </summary>
public static class LoraFile
{
    private static readonly string[] DownSuffixes = [".lora_down.weight", ".lora_A.weight", ".lora.down.weight"];
    private static readonly string[] UpSuffixes = [".lora_up.weight", ".lora_B.weight", ".lora.up.weight"];

    public static LoraReading Read(string loraPath, CheckpointWeights checkpoint, float multiplier)
    {
        using var lora = SafetensorsFile.Open(loraPath);
        var recognised = FileLayout.Recognise(lora);
        if (recognised.Kind != FileKind.Lora)
            throw new CheckpointException(loraPath, $"is an {recognised.Describe()}, not a LoRA");
        // An SDXL LoRA names its two text encoders (lora_te1_, lora_te2_); one that trains the UNet alone looks like any other.
        if (recognised.Family == ModelFamily.Sdxl && checkpoint.Family != ModelFamily.Sdxl)
            throw new CheckpointException(loraPath,
                $"is an SDXL LoRA and the checkpoint is an {RecognisedFile.FamilyName(checkpoint.Family)} one; use it with an SDXL checkpoint");
        var targets = TargetsOf(checkpoint);
        var deltas = new List<LoraDelta>();
        int unmatched = 0, unet = 0, text = 0;
        foreach (var down in lora.Names)
        {
            var suffix = DownSuffixes.FirstOrDefault(s => down.EndsWith(s, StringComparison.Ordinal));
            if (suffix is null) continue;
            var module = down[..^suffix.Length];
            var upName = UpSuffixes.Select(s => module + s).FirstOrDefault(lora.Contains)
                ?? throw new CheckpointException(loraPath, $"module '{module}' has a down weight but no up weight: a corrupt LoRA");
            if (!targets.TryGetValue(module, out var target))
            {
                unmatched++;
                continue;
            }
            var downEntry = lora.Entry(down);
            var upEntry = lora.Entry(upName);
            var rank = downEntry.Shape[0];
            var alpha = lora.Contains(module + ".alpha") ? lora.ReadFloats(module + ".alpha")[0] : rank;
            var delta = new LoraDelta(target.Weight, loraPath, lora.ReadFloats(upName), upEntry.Shape, lora.ReadFloats(down), downEntry.Shape,
                multiplier * alpha / rank, target.RowOffset);
            var shape = checkpoint.Weights.Shape(target.Weight).ToArray();
            if (target.Rows is { } rows) shape[0] = rows;
            CheckShape(delta, target.Weight, shape, loraPath, module);
            deltas.Add(delta);
            if (target.Weight.StartsWith("model.diffusion_model.", StringComparison.Ordinal)) unet++;
            else text++;
        }
        return new LoraReading(Path.GetFileNameWithoutExtension(loraPath), deltas, unmatched, unet, text);
    }

    private static void CheckShape(LoraDelta d, string target, long[] shape, string path, string module)
    {
        var rows = shape[0];
        var cols = shape.Aggregate(1L, (a, b) => a * b) / rows;
        var downCols = d.Down.LongLength / d.Rank;
        if (d.UpShape[0] != rows || downCols != cols || d.Up.LongLength != rows * d.Rank)
            throw new CheckpointException(path,
                $"module '{module}' (up {ShapeText(d.UpShape)}, down {ShapeText(d.DownShape)}) does not fit '{target}' {ShapeText(shape)}: " +
                "the LoRA was made for another base model");
    }

    private static string ShapeText(long[] s) => $"[{string.Join(",", s)}]";

    /// <summary>Every name a LoRA may give a checkpoint weight's module, mapped to that weight.</summary>
    public static Dictionary<string, LoraTarget> TargetsOf(CheckpointWeights checkpoint)
    {
        const string unet = "model.diffusion_model.";
        var weights = checkpoint.Weights;
        var sdxl = checkpoint.Family == ModelFamily.Sdxl;
        var map = new Dictionary<string, LoraTarget>(StringComparer.Ordinal);
        foreach (var name in weights.Names.Order(StringComparer.Ordinal))
        {
            if (!name.EndsWith(".weight", StringComparison.Ordinal) || weights.Shape(name).Length is not (2 or 4)) continue;
            var module = name[..^".weight".Length];
            var target = new LoraTarget(name);
            if (module.StartsWith(unet, StringComparison.Ordinal))
            {
                var ldm = module[unet.Length..];
                map.TryAdd("lora_unet_" + ldm.Replace('.', '_'), target);
                if (UnetNames.ToDiffusers(ldm) is { } diffusers)
                {
                    map.TryAdd("lora_unet_" + diffusers.Replace('.', '_'), target);
                    map.TryAdd("unet." + diffusers, target);
                    map.TryAdd(diffusers, target);
                }
            }
            else if (checkpoint.Family != ModelFamily.Sd2 && module.StartsWith(checkpoint.TextPrefix, StringComparison.Ordinal))
            {
                // SD 1.x: lora_te_ / text_encoder.; SDXL's first encoder (CLIP-L): lora_te1_ / text_encoder.
                var inner = "text_model." + module[checkpoint.TextPrefix.Length..];
                map.TryAdd((sdxl ? "lora_te1_" : "lora_te_") + inner.Replace('.', '_'), target);
                map.TryAdd("text_encoder." + inner, target);
            }
        }
        // OpenCLIP towers: SDXL's second encoder (bigG) and SD 2.x's only one (ViT-H).
        if (sdxl) AddOpenClipTargets(weights, CheckpointImporter.SdxlBigGPrefix, "lora_te2_", "text_encoder_2.", map);
        if (checkpoint.Family == ModelFamily.Sd2) AddOpenClipTargets(weights, CheckpointImporter.OpenClipPrefix, "lora_te_", "text_encoder.", map);
        return map;
    }

    /// <summary>
    /// An OpenCLIP text tower under the Hugging Face names LoRAs use for it (SDXL's bigG: lora_te2_text_model_encoder_
    /// layers_N_..., text_encoder_2.text_model...; SD 2.x's ViT-H: lora_te_..., text_encoder....): q/k/v_proj are the
    /// thirds of attn.in_proj_weight, out_proj is attn.out_proj, fc1/fc2 are mlp.c_fc/c_proj.
    /// </summary>
    private static void AddOpenClipTargets(SafetensorsWeights weights, string prefix, string kohya, string peft, Dictionary<string, LoraTarget> map)
    {
        var p = prefix + "transformer.resblocks.";
        for (var i = 0; weights.Has($"{p}{i}.attn.in_proj_weight"); i++)
        {
            var fused = $"{p}{i}.attn.in_proj_weight";
            var width = weights.Shape(fused)[0] / 3;
            (string Module, LoraTarget Target)[] parts =
            [
                ("self_attn.q_proj", new LoraTarget(fused, 0, width)), ("self_attn.k_proj", new LoraTarget(fused, width, width)),
                ("self_attn.v_proj", new LoraTarget(fused, 2 * width, width)), ("self_attn.out_proj", new LoraTarget($"{p}{i}.attn.out_proj.weight")),
                ("mlp.fc1", new LoraTarget($"{p}{i}.mlp.c_fc.weight")), ("mlp.fc2", new LoraTarget($"{p}{i}.mlp.c_proj.weight")),
            ];
            foreach (var (module, target) in parts)
            {
                var inner = $"text_model.encoder.layers.{i}.{module}";
                map.TryAdd(kohya + inner.Replace('.', '_'), target);
                map.TryAdd(peft + inner, target);
            }
        }
    }
}
