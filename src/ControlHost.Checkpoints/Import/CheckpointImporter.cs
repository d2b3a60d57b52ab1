using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlHost.Checkpoints.Layouts;
using ControlHost.Checkpoints.Names;
using ControlHost.Checkpoints.Onnx;
using ControlHost.Checkpoints.Safetensors;
using ControlHost.Checkpoints.Sd1;
using ControlHost.Checkpoints.Sd2;

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

    /// <summary>Where SD 2.x checkpoints keep OpenCLIP's text tower.</summary>
    public const string OpenClipPrefix = "cond_stage_model.model.";

    /// <summary>SD 2.x and SDXL split attention into heads 64 wide (num_head_channels 64).</summary>
    public static readonly HeadRule Sd2Heads = HeadRule.OfWidth(64);

    /// <summary>The attention heads of a family's UNet and ControlNets.</summary>
    public static HeadRule HeadsOf(ModelFamily family) => family == ModelFamily.Sd1 ? Sd1Graphs.UnetHeads : Sd2Heads;

    /// <summary>Imports a checkpoint or ControlNet file into <paramref name="outDir"/> (which must not exist).</summary>
    /// <param name="tokenizerDir">CLIP's vocab.json and merges.txt, copied into a base model's tokenizer/.</param>
    /// <param name="predictsVelocity">For an SD 2.x checkpoint without a .yaml beside it: given the built UNet's
    /// model.onnx, whether it predicts velocity (A1111's test runs the UNet once; the caller owns a runtime). Without
    /// it such a checkpoint is taken as epsilon-predicting and the result says so.</param>
    public static ImportResult Import(string file, string outDir, string tokenizerDir, IProgress<string>? progress = null,
        Func<string, bool>? predictsVelocity = null)
    {
        var watch = Stopwatch.StartNew();
        if (Directory.Exists(outDir) || File.Exists(outDir))
            throw new CheckpointException(outDir, "already exists; remove it or choose another output folder");
        if (Directory.Exists(file)) return ImportDiffusersFolder(file, outDir, tokenizerDir, progress, watch);
        using var st = SafetensorsFile.Open(file);
        var recognised = FileLayout.Recognise(st);
        var notes = new List<string>();
        var bytes = Staged(outDir, staging => recognised.Kind switch
        {
            FileKind.Checkpoint => WriteBaseModel(SafetensorsWeights.Of(st), st.Path, recognised, staging, tokenizerDir, progress, predictsVelocity, notes),
            FileKind.ControlNet => WriteControlNet(st, recognised, staging, progress),
            _ => throw new CheckpointException(file,
                $"is an {recognised.Describe()}; it is applied to a checkpoint at load (LoRA: --lora or <lora:NAME:W>; embedding: its name in the prompt), not imported alone"),
        });
        return new ImportResult(Path.GetFullPath(outDir), recognised, bytes, watch.Elapsed) { Notes = notes };
    }

    private static ImportResult ImportDiffusersFolder(string dir, string outDir, string tokenizerDir, IProgress<string>? progress, Stopwatch watch)
    {
        using var folder = DiffusersFolder.Open(dir);
        var k = folder.Weights.Names.FirstOrDefault(n => n.EndsWith("attn2.to_k.weight", StringComparison.Ordinal));
        var family = folder.Family == ModelFamily.Sdxl ? ModelFamily.Sdxl
            : k is null ? ModelFamily.Sd1 : folder.Weights.Shape(k)[1] switch { 1024 => ModelFamily.Sd2, 2048 => ModelFamily.Sdxl, _ => ModelFamily.Sd1 };
        var inChannels = folder.Weights.Has("model.diffusion_model.input_blocks.0.0.weight") ? folder.Weights.Shape("model.diffusion_model.input_blocks.0.0.weight")[1] : 4;
        var recognised = new RecognisedFile(FileKind.Checkpoint, family, "diffusers folder", "model.diffusion_model.", true, inChannels == 9);
        if (family == ModelFamily.Sd2)
            throw new CheckpointException(dir, "is an SD 2.x diffusers folder; ControlHost reads SD 2.x as single-file checkpoints so far (the .safetensors A1111 and ComfyUI keep in models/Stable-diffusion)");
        var bytes = Staged(outDir, staging => WriteBaseModel(folder.Weights, dir, recognised, staging, tokenizerDir, progress, null, []));
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

    /// <summary>Where SDXL checkpoints keep CLIP ViT-L and OpenCLIP bigG.</summary>
    public const string SdxlClipPrefix = "conditioner.embedders.0.transformer.text_model.";
    public const string SdxlBigGPrefix = "conditioner.embedders.1.model.";

    /// <summary>Where a checkpoint of the family keeps its (first) text encoder; SD 1.x files differ by whether
    /// later transformers versions added text_model.</summary>
    public static string TextPrefixOf(IWeightSource weights, ModelFamily family) => family switch
    {
        ModelFamily.Sd2 => OpenClipPrefix,
        ModelFamily.Sdxl => SdxlClipPrefix,
        _ => weights.Has(TextPrefixNew + "embeddings.token_embedding.weight") ? TextPrefixNew : TextPrefixOld,
    };

    private static long WriteBaseModel(SafetensorsWeights weights, string source, RecognisedFile recognised, string dir, string tokenizerDir,
        IProgress<string>? progress, Func<string, bool>? predictsVelocity, List<string> notes)
    {
        var family = recognised.Family;
        var sd2 = family == ModelFamily.Sd2;
        var sdxl = family == ModelFamily.Sdxl;
        var textPrefix = TextPrefixOf(weights, family);
        string[] textKeys = sd2 ? [textPrefix + "token_embedding.weight", textPrefix + "ln_final.weight"]
            : sdxl ? [textPrefix + "embeddings.token_embedding.weight", SdxlBigGPrefix + "token_embedding.weight", SdxlBigGPrefix + "text_projection"]
            : [textPrefix + "embeddings.token_embedding.weight", textPrefix + "final_layer_norm.weight"];
        RequireKeys(weights.Has, source, recognised,
            ["model.diffusion_model.input_blocks.0.0.weight", "model.diffusion_model.time_embed.0.weight", "model.diffusion_model.out.2.weight",
            "first_stage_model.decoder.conv_in.weight", "first_stage_model.encoder.conv_in.weight", "first_stage_model.post_quant_conv.weight", .. textKeys]);
        long bytes = 0;
        bytes += Save(UnetGraph(weights, family), dir, "unet", progress);
        foreach (var (part, graph) in TextEncoderGraphs(weights, family, textPrefix)) bytes += Save(graph(), dir, part, progress);
        bytes += Save(Sd1Graphs.VaeEncoder(weights), dir, "vae_encoder", progress);
        bytes += Save(Sd1Graphs.VaeDecoder(weights), dir, "vae_decoder", progress);
        var (velocity, why) = sd2 ? Sd2Prediction(source, Path.Combine(dir, "unet", "model.onnx"), predictsVelocity) : (false, RecognisedFile.FamilyName(family));
        if (sd2) notes.Add($"{(velocity ? "v-prediction" : "epsilon prediction")} ({why})");

        var tokenizer = Path.Combine(dir, "tokenizer");
        Directory.CreateDirectory(tokenizer);
        foreach (var name in new[] { "vocab.json", "merges.txt" })
        {
            var table = Path.Combine(tokenizerDir, name);
            if (!File.Exists(table)) throw new CheckpointException(tokenizerDir, $"has no {name}: the CLIP tokenizer tables are needed for a base model");
            File.Copy(table, Path.Combine(tokenizer, name));
        }
        // OpenCLIP's tokenizer pads with id 0 ("!") after the end token, CLIP's with the end token (diffusers' SD 2.x
        // tokenizer folders say so the same way).
        if (sd2) WriteJson(Path.Combine(tokenizer, "special_tokens_map.json"), new JsonObject { ["pad_token"] = "!" });
        if (sdxl)
        {
            // SDXL: CLIP-L's tokenizer pads with the end token, bigG's (tokenizer_2) with "!".
            var second = Path.Combine(dir, "tokenizer_2");
            Directory.CreateDirectory(second);
            foreach (var name in new[] { "vocab.json", "merges.txt" }) File.Copy(Path.Combine(tokenizer, name), Path.Combine(second, name));
            WriteJson(Path.Combine(second, "special_tokens_map.json"), new JsonObject { ["pad_token"] = "!" });
        }
        var unet = "model.diffusion_model.";
        var widths = Enumerable.Range(0, 64).Select(i => $"{unet}input_blocks.{i}.0.out_layers.3.weight").Where(weights.Has)
            .Select(k => weights.Shape(k)[0]).Distinct().ToArray();
        WriteJson(Path.Combine(dir, "unet", "config.json"), new JsonObject
        {
            // The 768-v models are trained at 768 (96 latent cells), SD 1.x and SD 2.x base at 512.
            // SDXL at 1024 (128 cells).
            ["sample_size"] = sdxl ? 128 : velocity ? 96 : 64,
            ["in_channels"] = weights.Shape(unet + "input_blocks.0.0.weight")[1],
            ["out_channels"] = weights.Shape(unet + "out.2.weight")[0],
            ["layers_per_block"] = 2,
            ["block_out_channels"] = new JsonArray(widths.Select(w => (JsonNode)w).ToArray()),
            ["cross_attention_dim"] = Sd1Graphs.ContextWidth(weights, unet),
        });
        // SDXL's VAE was retrained with another latent scale (sgm's scale_factor 0.13025).
        WriteJson(Path.Combine(dir, "vae_decoder", "config.json"), new JsonObject { ["scaling_factor"] = sdxl ? 0.13025 : 0.18215 });
        // SD 1.x's and 2.x's training schedule (the CompVis v1 and Stability v2 inference configs: linear_start 0.00085,
        // linear_end 0.012, 1000 steps); the 768-v models predict velocity.
        WriteJson(Path.Combine(dir, "scheduler", "scheduler_config.json"), new JsonObject
        {
            ["_class_name"] = "PNDMScheduler", ["beta_start"] = 0.00085, ["beta_end"] = 0.012, ["beta_schedule"] = "scaled_linear",
            ["num_train_timesteps"] = 1000, ["prediction_type"] = velocity ? "v_prediction" : "epsilon", ["set_alpha_to_one"] = false, ["skip_prk_steps"] = true,
            ["steps_offset"] = 1, ["clip_sample"] = false,
        });
        var index = new JsonObject
        {
            // optimum's name for an SDXL ONNX pipeline folder; diffusers' for the others.
            ["_class_name"] = sdxl ? "ORTStableDiffusionXLPipeline" : "OnnxStableDiffusionPipeline",
            ["scheduler"] = new JsonArray("diffusers", "PNDMScheduler"),
            ["text_encoder"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["tokenizer"] = new JsonArray("transformers", "CLIPTokenizer"),
            ["unet"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["vae_decoder"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["vae_encoder"] = new JsonArray("diffusers", "OnnxRuntimeModel"),
            ["requires_safety_checker"] = false,
        };
        if (sdxl)
        {
            index["text_encoder_2"] = new JsonArray("diffusers", "OnnxRuntimeModel");
            index["tokenizer_2"] = new JsonArray("transformers", "CLIPTokenizer");
        }
        WriteJson(Path.Combine(dir, "model_index.json"), index);
        WriteJson(Path.Combine(dir, "controlhost.json"), new JsonObject
        {
            ["source"] = Path.GetFileName(source),
            ["layout"] = recognised.Layout,
            ["family"] = RecognisedFile.FamilyId(recognised.Family),
            ["prediction"] = velocity ? "v" : "epsilon",
            ["prediction_from"] = why,
            ["builder"] = BuilderVersion.Number,
            ["text_encoder_embedding_rows"] = EmbeddingCapacity,
        });
        return bytes;
    }

    /// <summary>A family's UNet graph (LoRA buffers are read from the same graph, so their names match the built file's).</summary>
    public static OnnxGraph UnetGraph(IWeightSource weights, ModelFamily family) => Sd1Graphs.Unet(weights, heads: HeadsOf(family));

    /// <summary>
    /// A family's text encoder graphs by folder part. SD 2.x reads OpenCLIP's penultimate layer through ln_final; SDXL
    /// reads both encoders' penultimate layers without their final norms, and bigG's pooled projection (sgm's
    /// FrozenCLIPEmbedder and FrozenOpenCLIPEmbedder2 with layer "penultimate"/"hidden", always_return_pooled for bigG).
    /// </summary>
    public static IEnumerable<(string Part, Func<OnnxGraph> Graph)> TextEncoderGraphs(IWeightSource weights, ModelFamily family, string textPrefix)
    {
        switch (family)
        {
            case ModelFamily.Sd2:
                yield return ("text_encoder", () => OpenClipGraphs.TextEncoder(weights, textPrefix, skipLast: 1, normed: true, EmbeddingCapacity));
                break;
            case ModelFamily.Sdxl:
                yield return ("text_encoder", () => Sd1Graphs.TextEncoder(weights, textPrefix, EmbeddingCapacity, skipLast: 1, finalNorm: false));
                yield return ("text_encoder_2", () => OpenClipGraphs.TextEncoder(weights, SdxlBigGPrefix, skipLast: 1, normed: false, EmbeddingCapacity, pooled: true));
                break;
            default:
                yield return ("text_encoder", () => Sd1Graphs.TextEncoder(weights, textPrefix, EmbeddingCapacity));
                break;
        }
    }

    /// <summary>
    /// Whether an SD 2.x checkpoint predicts velocity (the 768-v models) or noise (the 512 base models); the keys are the
    /// same. A1111's order: the .yaml config beside the checkpoint (<c>parameterization: "v"</c>), else a test run of
    /// the UNet (<paramref name="probe"/>), else epsilon.
    /// </summary>
    private static (bool Velocity, string Why) Sd2Prediction(string source, string unetPath, Func<string, bool>? probe)
    {
        var yaml = Path.ChangeExtension(source, ".yaml");
        if (File.Exists(yaml))
        {
            var match = System.Text.RegularExpressions.Regex.Match(File.ReadAllText(yaml), @"parameterization:\s*[""']?(\w+)");
            return (match.Success && match.Groups[1].Value == "v", $"from {Path.GetFileName(yaml)}");
        }
        if (probe is not null) return (probe(unetPath), "from a test run of the UNet, as A1111 tells them apart");
        return (false, $"assumed: no {Path.GetFileName(yaml)} beside the file to say \"parameterization: v\"");
    }

    private static long WriteControlNet(SafetensorsFile st, RecognisedFile recognised, string dir, IProgress<string>? progress)
    {
        var p = recognised.Prefix;
        var weights = recognised.Diffusers ? DiffusersControlNet(st) : SafetensorsWeights.Of(st);
        RequireKeys(weights.Has, st.Path, recognised, p + "input_hint_block.0.weight", p + "input_blocks.0.0.weight", p + "zero_convs.0.0.weight", p + "middle_block_out.0.weight");
        var bytes = Save(Sd1Graphs.ControlNet(weights, p, HeadsOf(recognised.Family)), dir, null, progress);
        var union = weights.Has(p + "task_embedding");
        WriteJson(Path.Combine(dir, "controlnet.json"), new JsonObject
        {
            // A union ControlNet serves every type it was trained on, in the order of its task_embedding rows.
            ["condition"] = union ? "union" : ControlNetNames.ConditionOf(Path.GetFileNameWithoutExtension(st.Path)),
            ["union_types"] = union ? new JsonArray(UnionTypes.Of((int)weights.Shape(p + "task_embedding")[0]).Select(t => (JsonNode)t).ToArray()) : null,
            ["base"] = RecognisedFile.FamilyId(recognised.Family),
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
