using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Layouts;

/// <summary>What a model file holds, as recognised from its tensor names and shapes.</summary>
public enum FileKind { Checkpoint, ControlNet, Lora, Embedding }

/// <summary>The model families ControlHost tells apart and runs.</summary>
public enum ModelFamily { Sd1, Sd2, Sdxl }

/// <summary>
/// A recognised file: its kind, family and where its parts sit. <see cref="Prefix"/> is the part's key prefix
/// (<c>model.diffusion_model.</c>, <c>control_model.</c> or empty for a bare ControlNet); <see cref="Diffusers"/> is
/// true for diffusers names, which are translated to the original ones before building.
/// </summary>
public sealed record RecognisedFile(FileKind Kind, ModelFamily Family, string Layout, string Prefix, bool Diffusers, bool Inpainting)
{
    public static string FamilyName(ModelFamily f) => f switch { ModelFamily.Sd1 => "SD 1.x", ModelFamily.Sd2 => "SD 2.x", _ => "SDXL" };

    /// <summary>The family's id in model folders (controlhost.json "family", controlnet.json "base"): sd1, sd2, sdxl.</summary>
    public static string FamilyId(ModelFamily f) => f switch { ModelFamily.Sd1 => "sd1", ModelFamily.Sd2 => "sd2", _ => "sdxl" };

    public string Describe() => $"{FamilyName(Family)} {KindName(Kind)} ({Layout}{(Inpainting ? ", 9-channel inpainting UNet" : "")})";

    public static string KindName(FileKind k) => k switch
    {
        FileKind.Checkpoint => "checkpoint", FileKind.ControlNet => "ControlNet", FileKind.Lora => "LoRA", _ => "embedding",
    };
}

/// <summary>
/// Recognises a .safetensors file from its keys and shapes alone, as stable-diffusion.cpp does: original single-file
/// checkpoints (ldm names), ControlNets (cldm names with or without <c>control_model.</c>, or diffusers names), LoRAs
/// (kohya/A1111 and diffusers/PEFT) and textual-inversion embeddings. Anything else is an error naming what was found.
/// </summary>
public static class FileLayout
{
    public static RecognisedFile Recognise(SafetensorsFile file)
    {
        var names = file.Entries.Keys.ToList();
        bool Any(string prefix) => names.Any(n => n.StartsWith(prefix, StringComparison.Ordinal));
        bool AnyContains(string part) => names.Any(n => n.Contains(part, StringComparison.Ordinal));

        if (Any("model.diffusion_model.")) return Checkpoint(file);
        if (Any("control_model.input_hint_block.")) return ControlNet(file, "control_model.", false);
        if (Any("input_hint_block.") && Any("zero_convs.")) return ControlNet(file, "", false);
        if (Any("controlnet_cond_embedding.")) return ControlNet(file, "", true);
        if (AnyContains(".lora_down.") || AnyContains(".lora_up.") || AnyContains(".lora_A.") || AnyContains(".lora_B.") || AnyContains(".lora.down."))
            return Lora(names);
        if (names.Contains("emb_params") || Any("string_to_param") || names.Contains("clip_l") || names.Contains("clip_g"))
            return new RecognisedFile(FileKind.Embedding, names.Contains("clip_g") ? ModelFamily.Sdxl : ModelFamily.Sd1,
                names.Contains("emb_params") ? "A1111 textual inversion" : names.Contains("clip_l") ? "clip_l/clip_g embedding" : "string_to_param embedding", "", false, false);
        if (Any("down_blocks.") && Any("conv_in.") && AnyContains("attn2.to_k"))
            throw new CheckpointException(file.Path, "holds a diffusers UNet alone; open the diffusers folder it belongs to (the one with model_index.json)");
        var sample = string.Join(", ", names.Take(4));
        throw new CheckpointException(file.Path,
            $"is not a layout ControlHost knows ({names.Count} tensors, e.g. {sample}); it reads SD 1.x checkpoints, ControlNets, LoRAs and embeddings");
    }

    private static RecognisedFile Checkpoint(SafetensorsFile file)
    {
        var family = FamilyOfUnet(file, "model.diffusion_model.");
        if (file.Contains("conditioner.embedders.1.model.ln_final.weight") || file.Names.Any(n => n.StartsWith("conditioner.embedders.", StringComparison.Ordinal)))
            family = ModelFamily.Sdxl;
        else if (file.Names.Any(n => n.StartsWith("cond_stage_model.model.", StringComparison.Ordinal)))
            family = ModelFamily.Sd2;
        var inChannels = file.Entry("model.diffusion_model.input_blocks.0.0.weight").Shape[1];
        return new RecognisedFile(FileKind.Checkpoint, family, "original single-file", "model.diffusion_model.", false, inChannels == 9);
    }

    private static RecognisedFile ControlNet(SafetensorsFile file, string prefix, bool diffusers)
    {
        ModelFamily family;
        if (diffusers)
        {
            var k = file.Names.FirstOrDefault(n => n.EndsWith("attn2.to_k.weight", StringComparison.Ordinal));
            family = file.Names.Any(n => n.StartsWith("add_embedding.", StringComparison.Ordinal)) ? ModelFamily.Sdxl
                : k is not null ? FamilyOfContext(file.Entry(k).Shape[1]) : ModelFamily.Sd1;
        }
        else family = FamilyOfUnet(file, prefix);
        return new RecognisedFile(FileKind.ControlNet, family, diffusers ? "diffusers" : prefix.Length == 0 ? "original, bare names" : "original, control_model.", prefix, diffusers, false);
    }

    private static RecognisedFile Lora(List<string> names)
    {
        var family = names.Any(n => n.StartsWith("lora_te1_", StringComparison.Ordinal) || n.StartsWith("lora_te2_", StringComparison.Ordinal)
                                    || n.Contains("text_encoder_2", StringComparison.Ordinal) || n.Contains("add_embedding", StringComparison.Ordinal))
            ? ModelFamily.Sdxl : ModelFamily.Sd1;
        var kohya = names.Any(n => n.StartsWith("lora_unet_", StringComparison.Ordinal) || n.StartsWith("lora_te", StringComparison.Ordinal));
        return new RecognisedFile(FileKind.Lora, family, kohya ? "kohya/A1111" : "diffusers/PEFT", "", !kohya, false);
    }

    /// <summary>
    /// The family of a UNet or ControlNet: SDXL by its label embedding, else by the cross-attention width (768 SD 1.x,
    /// 1024 SD 2.x, 2048 SDXL), else by how its spatial transformers project: SD 2.x with linear layers, SD 1.x with 1x1
    /// convolutions (so reduced test models of either family are told apart too).
    /// </summary>
    private static ModelFamily FamilyOfUnet(SafetensorsFile file, string prefix)
    {
        var k = file.Names.FirstOrDefault(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith("attn2.to_k.weight", StringComparison.Ordinal));
        if (file.Names.Any(n => n.StartsWith(prefix + "label_emb.", StringComparison.Ordinal))) return ModelFamily.Sdxl;
        if (k is null) return ModelFamily.Sd1;
        var byWidth = FamilyOfContext(file.Entry(k).Shape[1]);
        if (byWidth != ModelFamily.Sd1) return byWidth;
        var projIn = file.Names.FirstOrDefault(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".proj_in.weight", StringComparison.Ordinal));
        return projIn is not null && file.Entry(projIn).Shape.Length == 2 ? ModelFamily.Sd2 : ModelFamily.Sd1;
    }

    private static ModelFamily FamilyOfContext(long width) => width switch { 1024 => ModelFamily.Sd2, 2048 => ModelFamily.Sdxl, _ => ModelFamily.Sd1 };

    /// <summary>Refuses files of a family ControlHost cannot run yet as this kind, naming the family.</summary>
    public static void RequireSd1(RecognisedFile recognised, string path)
    {
        if (recognised.Family != ModelFamily.Sd1)
            throw new CheckpointException(path,
                $"is an {RecognisedFile.FamilyName(recognised.Family)} {RecognisedFile.KindName(recognised.Kind)}; ControlHost reads " +
                $"{RecognisedFile.KindName(recognised.Kind)}s for SD 1.x so far (SD 2.x and SDXL ones are planned)");
    }
}
