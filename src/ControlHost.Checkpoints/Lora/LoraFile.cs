using ControlHost.Checkpoints.Layouts;
using ControlHost.Checkpoints.Names;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Lora;

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

    public static LoraReading Read(string loraPath, SafetensorsWeights checkpoint, string textPrefix, float multiplier)
    {
        using var lora = SafetensorsFile.Open(loraPath);
        var recognised = FileLayout.Recognise(lora);
        if (recognised.Kind != FileKind.Lora)
            throw new CheckpointException(loraPath, $"is an {recognised.Describe()}, not a LoRA");
        FileLayout.RequireSd1(recognised, loraPath);
        var targets = TargetsOf(checkpoint, textPrefix);
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
            var delta = new LoraDelta(target, loraPath, lora.ReadFloats(upName), upEntry.Shape, lora.ReadFloats(down), downEntry.Shape,
                multiplier * alpha / rank);
            CheckShape(delta, target, checkpoint.Shape(target), loraPath, module);
            deltas.Add(delta);
            if (target.StartsWith("model.diffusion_model.", StringComparison.Ordinal)) unet++;
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
    public static Dictionary<string, string> TargetsOf(SafetensorsWeights checkpoint, string textPrefix)
    {
        const string unet = "model.diffusion_model.";
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in checkpoint.Names.Order(StringComparer.Ordinal))
        {
            if (!name.EndsWith(".weight", StringComparison.Ordinal) || checkpoint.Shape(name).Length is not (2 or 4)) continue;
            var module = name[..^".weight".Length];
            if (module.StartsWith(unet, StringComparison.Ordinal))
            {
                var ldm = module[unet.Length..];
                map.TryAdd("lora_unet_" + ldm.Replace('.', '_'), name);
                if (UnetNames.ToDiffusers(ldm) is { } diffusers)
                {
                    map.TryAdd("lora_unet_" + diffusers.Replace('.', '_'), name);
                    map.TryAdd("unet." + diffusers, name);
                    map.TryAdd(diffusers, name);
                }
            }
            else if (module.StartsWith(textPrefix, StringComparison.Ordinal))
            {
                var inner = "text_model." + module[textPrefix.Length..];
                map.TryAdd("lora_te_" + inner.Replace('.', '_'), name);
                map.TryAdd("text_encoder." + inner, name);
            }
        }
        return map;
    }
}
