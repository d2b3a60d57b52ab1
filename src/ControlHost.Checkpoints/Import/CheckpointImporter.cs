using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlHost.Checkpoints.Layouts;
using ControlHost.Checkpoints.Names;
using ControlHost.Checkpoints.Onnx;
using ControlHost.Checkpoints.Safetensors;
using ControlHost.Checkpoints.Sd1;

namespace ControlHost.Checkpoints.Import;

/// <summary>
/// Turns a user's .safetensors file into the folder contract of DESIGN.md section 3 (a base model in the diffusers
/// ONNX layout, or a ControlNet folder): graphs built for the file's architecture, weights converted to float32 and
/// written one tensor at a time. The folder is assembled beside its destination and moved into place only when
/// complete, so a failure leaves nothing half-built.
/// </summary>
public static class CheckpointImporter
{
    /// <summary>Rows reserved in the text encoder's vocabulary for textual-inversion vectors (ids 49408 and up).</summary>
    public const int EmbeddingCapacity = 256;

    public const string TextPrefixNew = "cond_stage_model.transformer.text_model.";
    public const string TextPrefixOld = "cond_stage_model.transformer.";

    /// <summary>Imports a checkpoint or ControlNet file into <paramref name="outDir"/> (which must not exist).</summary>
    /// <param name="tokenizerDir">CLIP's vocab.json and merges.txt, copied into a base model's tokenizer/.</param>
    public static ImportResult Import(string file, string outDir, string tokenizerDir, IProgress<string>? progress = null)
    {
        var watch = Stopwatch.StartNew();
        if (Directory.Exists(outDir) || File.Exists(outDir))
            throw new CheckpointException(outDir, "already exists; remove it or choose another output folder");
        if (Directory.Exists(file)) return ImportDiffusersFolder(file, outDir, tokenizerDir, progress, watch);
        using var st = SafetensorsFile.Open(file);
        var recognised = FileLayout.Recognise(st);
        FileLayout.RequireSd1(recognised, file);
        var bytes = Staged(outDir, staging => recognised.Kind switch
        {
            FileKind.Checkpoint => WriteBaseModel(SafetensorsWeights.Of(st), st.Path, recognised, staging, tokenizerDir, progress),
            FileKind.ControlNet => WriteControlNet(st, recognised, staging, progress),
            _ => throw new CheckpointException(file,
                $"is an {recognised.Describe()}; it is applied to a checkpoint at load (LoRA: --lora or <lora:NAME:W>; embedding: its name in the prompt), not imported alone"),
        });
        return new ImportResult(Path.GetFullPath(outDir), recognised, bytes, watch.Elapsed);
    }

    private static ImportResult ImportDiffusersFolder(string dir, string outDir, string tokenizerDir, IProgress<string>? progress, Stopwatch watch)
    {
        using var folder = DiffusersFolder.Open(dir);
        var k = folder.Weights.Names.FirstOrDefault(n => n.EndsWith("attn2.to_k.weight", StringComparison.Ordinal));
        var family = k is null ? ModelFamily.Sd1 : folder.Weights.Shape(k)[1] switch { 1024 => ModelFamily.Sd2, 2048 => ModelFamily.Sdxl, _ => ModelFamily.Sd1 };
        var inChannels = folder.Weights.Has("model.diffusion_model.input_blocks.0.0.weight") ? folder.Weights.Shape("model.diffusion_model.input_blocks.0.0.weight")[1] : 4;
        var recognised = new RecognisedFile(FileKind.Checkpoint, family, "diffusers folder", "model.diffusion_model.", true, inChannels == 9);
        FileLayout.RequireSd1(recognised, dir);
        var bytes = Staged(outDir, staging => WriteBaseModel(folder.Weights, dir, recognised, staging, tokenizerDir, progress));
        return new ImportResult(Path.GetFullPath(outDir), recognised, bytes, watch.Elapsed);
    }

    /// <summary>Writes into a staging folder beside <paramref name="outDir"/> and moves it into place when complete.</summary>
    private static long Staged(string outDir, Func<string, long> write)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(outDir))!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(Path.GetFullPath(outDir))}.partial-{Guid.NewGuid():N}");
        Directory.CreateDirectory(staging);
        try
        {
            var bytes = write(staging);
            Directory.Move(staging, outDir);
            return bytes;
        }
        catch
        {
            try { Directory.Delete(staging, true); } catch (IOException) { }
            throw;
        }
    }

    private static long WriteBaseModel(SafetensorsWeights weights, string source, RecognisedFile recognised, string dir, string tokenizerDir, IProgress<string>? progress)
    {
        var textPrefix = weights.Has(TextPrefixNew + "embeddings.token_embedding.weight") ? TextPrefixNew : TextPrefixOld;
        RequireKeys(weights.Has, source, recognised,
            "model.diffusion_model.input_blocks.0.0.weight", "model.diffusion_model.time_embed.0.weight", "model.diffusion_model.out.2.weight",
            "first_stage_model.decoder.conv_in.weight", "first_stage_model.encoder.conv_in.weight", "first_stage_model.post_quant_conv.weight",
            textPrefix + "embeddings.token_embedding.weight", textPrefix + "final_layer_norm.weight");
        long bytes = 0;
        bytes += Save(Sd1Graphs.Unet(weights), dir, "unet", progress);
        bytes += Save(Sd1Graphs.TextEncoder(weights, textPrefix, EmbeddingCapacity), dir, "text_encoder", progress);
        bytes += Save(Sd1Graphs.VaeEncoder(weights), dir, "vae_encoder", progress);
        bytes += Save(Sd1Graphs.VaeDecoder(weights), dir, "vae_decoder", progress);

        var tokenizer = Path.Combine(dir, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        foreach (var name in new[] { "vocab.json", "merges.txt" })
        {
            var table = Path.Combine(tokenizerDir, name);
            if (!File.Exists(table)) throw new CheckpointException(tokenizerDir, $"has no {name}: the CLIP tokenizer tables are needed for a base model");
            File.Copy(table, Path.Combine(tokenizer, name));
        }
        var unet = "model.diffusion_model.";
        var widths = Enumerable.Range(0, 64).Select(i => $"{unet}input_blocks.{i}.0.out_layers.3.weight").Where(weights.Has)
            .Select(k => weights.Shape(k)[0]).Distinct().ToArray();
        WriteJson(Path.Combine(dir, "unet", "config.json"), new JsonObject
        {
            ["sample_size"] = 64,
            ["in_channels"] = weights.Shape(unet + "input_blocks.0.0.weight")[1],
            ["out_channels"] = weights.Shape(unet + "out.2.weight")[0],
            ["layers_per_block"] = 2,
            ["block_out_channels"] = new JsonArray(widths.Select(w => (JsonNode)w).ToArray()),
            ["cross_attention_dim"] = Sd1Graphs.ContextWidth(weights, unet),
        });
        WriteJson(Path.Combine(dir, "vae_decoder", "config.json"), new JsonObject { ["scaling_factor"] = 0.18215 });
        // SD 1.x's training schedule (the CompVis v1 inference config: linear_start 0.00085, linear_end 0.012, 1000 steps).
        WriteJson(Path.Combine(dir, "scheduler", "scheduler_config.json"), new JsonObject
        {
            ["_class_name"] = "PNDMScheduler", ["beta_start"] = 0.00085, ["beta_end"] = 0.012, ["beta_schedule"] = "scaled_linear",
            ["num_train_timesteps"] = 1000, ["prediction_type"] = "epsilon", ["set_alpha_to_one"] = false, ["skip_prk_steps"] = true,
            ["steps_offset"] = 1, ["clip_sample"] = false,
        });
        WriteJson(Path.Combine(dir, "model_index.json"), new JsonObject
        {
            ["_class_name"] = "OnnxStableDiffusionPipeline",
            ["scheduler"] = new JsonArray("diffusers", "PNDMScheduler"),
            ["text_encoder"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
            ["unet"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["vae_decoder"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["vae_encoder"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["requires_safety_checker"] = false,
        });
        WriteJson(Path.Combine(dir, "controlhost.json"), new JsonObject
        {
            ["source"] = Path.GetFileName(source),
            ["layout"] = recognised.Layout,
            ["family"] = "sd1",
            ["builder"] = BuilderVersion.Number,
            ["text_encoder_embedding_rows"] = EmbeddingCapacity,
        });
        return bytes;
    }

    private static long WriteControlNet(SafetensorsFile st, RecognisedFile recognised, string dir, IProgress<string>? progress)
    {
        var p = recognised.Prefix;
        var weights = recognised.Diffusers ? DiffusersControlNet(st) : SafetensorsWeights.Of(st);
        RequireKeys(weights.Has, st.Path, recognised, p + "input_hint_block.0.weight", p + "input_blocks.0.0.weight", p + "zero_convs.0.0.weight", p + "middle_block_out.0.weight");
        var bytes = Save(Sd1Graphs.ControlNet(weights, p), dir, null, progress);
        WriteJson(Path.Combine(dir, "controlnet.json"), new JsonObject
        {
            ["condition"] = ControlNetNames.ConditionOf(Path.GetFileNameWithoutExtension(st.Path)),
            ["base"] = "sd1",
            ["resolution"] = 512,
            ["source"] = Path.GetFileName(st.Path),
            ["builder"] = BuilderVersion.Number,
        });
        return bytes;
    }

    private static long Save(OnnxGraph graph, string dir, string? part, IProgress<string>? progress)
    {
        var target = part is null ? dir : Path.Combine(dir, part);
        progress?.Report($"building {part ?? "controlnet"}");
        return graph.Save(Path.Combine(target, "model.onnx"), "model.onnx.data");
    }

    /// <summary>A diffusers ControlNet under the original (cldm, bare) names.</summary>
    private static SafetensorsWeights DiffusersControlNet(SafetensorsFile st)
    {
        var unmapped = st.Entries.Values.Where(e => DiffusersNames.ControlNet(e.Name) is null).Select(e => e.Name).ToList();
        if (unmapped.Count > 0)
            throw new CheckpointException(st.Path, $"has {unmapped.Count} weights with no SD 1.x ControlNet counterpart (first: {string.Join(", ", unmapped.Take(3))})");
        return new SafetensorsWeights(st.Entries.Values.Select(e => (DiffusersNames.ControlNet(e.Name)!, st, e)));
    }

    private static void RequireKeys(Func<string, bool> has, string path, RecognisedFile recognised, params string[] keys)
    {
        var missing = keys.Where(k => !has(k)).ToArray();
        if (missing.Length > 0)
            throw new CheckpointException(path,
                $"looks like an {recognised.Describe()} but lacks {missing.Length} of the weights it needs (first: {string.Join(", ", missing.Take(3))}): an incomplete file, or another layout");
    }

    private static void WriteJson(string path, JsonNode node)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}
