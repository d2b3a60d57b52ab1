using ControlHost.Checkpoints.Additions;
using ControlHost.Checkpoints.Import;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Tests;

/// <summary>Each kind of bad file gets one clear error naming the problem, and nothing half-built is left behind.</summary>
public sealed class BadFileTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir("bad");
    private string Tokenizer => Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer");

    private string PathOf(string name) => Path.Combine(_dir, name);

    private CheckpointException ImportFails(string file, string contains)
    {
        var outDir = PathOf("out");
        var e = Assert.Throws<CheckpointException>(() => CheckpointImporter.Import(file, outDir, Tokenizer));
        Assert.Contains(contains, e.Message);
        Assert.False(Directory.Exists(outDir), "an output folder was left");
        Assert.Empty(Directory.GetDirectories(_dir, "*partial*", SearchOption.AllDirectories));
        return e;
    }

    [Fact]
    public void A_truncated_file_says_truncated()
    {
        var bytes = File.ReadAllBytes(Fixtures.Checkpoint);
        File.WriteAllBytes(PathOf("cut.safetensors"), bytes[..(bytes.Length / 2)]);
        ImportFails(PathOf("cut.safetensors"), "truncated");
    }

    [Fact]
    public void An_oversized_header_is_refused_before_it_is_read()
    {
        TestFiles.WriteRaw(PathOf("huge.safetensors"), "{}", [], claimedHeaderLength: 1L << 40);
        ImportFails(PathOf("huge.safetensors"), "header length");
    }

    [Fact]
    public void A_header_that_is_not_JSON_is_a_corrupt_file()
    {
        TestFiles.WriteRaw(PathOf("junk.safetensors"), "{not json", []);
        ImportFails(PathOf("junk.safetensors"), "not JSON");
    }

    [Fact]
    public void Offsets_that_disagree_with_the_shape_are_a_corrupt_file()
    {
        TestFiles.WriteRaw(PathOf("bad.safetensors"), """{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,8]}}""", new byte[16]);
        ImportFails(PathOf("bad.safetensors"), "should take 16 bytes");
    }

    [Fact]
    public void An_unknown_dtype_is_named()
    {
        TestFiles.WriteRaw(PathOf("f8.safetensors"), """{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}""", new byte[4]);
        ImportFails(PathOf("f8.safetensors"), "F8_E4M3");
    }

    [Fact]
    public void A_weight_stored_as_integers_is_a_wrong_dtype()
    {
        TestFiles.Rewrite(Fixtures.Checkpoint, PathOf("ints.safetensors"), n => n);
        using var ok = SafetensorsFile.Open(PathOf("ints.safetensors"));
        var ids = ok.Entry("cond_stage_model.transformer.text_model.embeddings.position_ids");
        Assert.Contains("floating type", Assert.Throws<CheckpointException>(() => ok.ReadFloats(ids.Name)).Message);
    }

    [Fact]
    public void Missing_keys_name_the_first_few_and_the_layout_recognised()
    {
        TestFiles.Rewrite(Fixtures.Checkpoint, PathOf("partial.safetensors"), n => n.StartsWith("first_stage_model.decoder.", StringComparison.Ordinal) ? null : n);
        var e = ImportFails(PathOf("partial.safetensors"), "first_stage_model.decoder.conv_in.weight");
        Assert.Contains("SD 1.x checkpoint (original single-file)", e.Message);
    }

    [Fact]
    public void A_checkpoint_missing_a_deep_weight_fails_while_building_and_leaves_nothing()
    {
        TestFiles.Rewrite(Fixtures.Checkpoint, PathOf("holed.safetensors"),
            n => n == "model.diffusion_model.output_blocks.5.1.proj_out.weight" ? null : n);
        ImportFails(PathOf("holed.safetensors"), "output_blocks.5.1.proj_out.weight");
    }

    [Fact]
    public void An_incomplete_SDXL_checkpoint_is_named_as_such_with_what_it_lacks()
    {
        TestFiles.Write(PathOf("xl.safetensors"), [
            ("model.diffusion_model.input_blocks.0.0.weight", [320, 4, 3, 3]), ("model.diffusion_model.label_emb.0.0.weight", [1280, 2816]),
            ("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight", [768]),
            ("model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_k.weight", [640, 2048])]);
        ImportFails(PathOf("xl.safetensors"), "looks like an SDXL checkpoint (original single-file) but lacks");
    }

    [Fact]
    public void An_incomplete_SDXL_ControlNet_is_named_as_such_with_what_it_lacks()
    {
        TestFiles.Write(PathOf("xl-cn.safetensors"), [
            ("controlnet_cond_embedding.conv_in.weight", [16, 3, 3, 3]), ("add_embedding.linear_1.weight", [1280, 2816]),
            ("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight", [640, 2048])]);
        ImportFails(PathOf("xl-cn.safetensors"), "looks like an SDXL ControlNet (diffusers) but lacks");
    }

    [Fact]
    public void An_incomplete_SD2_checkpoint_is_named_as_such_with_what_it_lacks()
    {
        TestFiles.Write(PathOf("v2.safetensors"), [
            ("model.diffusion_model.input_blocks.0.0.weight", [320, 4, 3, 3]),
            ("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight", [320, 1024]),
            ("cond_stage_model.model.ln_final.weight", [1024])]);
        ImportFails(PathOf("v2.safetensors"), "looks like an SD 2.x checkpoint (original single-file) but lacks");
    }

    [Fact]
    public void A_pickle_is_refused_by_name_and_by_content_with_the_safe_format_named()
    {
        File.WriteAllBytes(PathOf("model.ckpt"), [0x80, 0x02]);
        ImportFails(PathOf("model.ckpt"), ".safetensors");
        File.WriteAllBytes(PathOf("renamed.safetensors"), "PK\u0003\u0004"u8.ToArray());
        ImportFails(PathOf("renamed.safetensors"), "pickle");
    }

    [Fact]
    public void A_LoRA_for_another_base_is_an_error_naming_the_module()
    {
        // Every module's down weight one column wider: a LoRA trained on a model of other widths.
        using (var lora = SafetensorsFile.Open(Fixtures.Lora))
            TestFiles.Write(PathOf("other.safetensors"), lora.Entries.Values.Select(e =>
                (e.Name, e.Name.EndsWith("lora_down.weight", StringComparison.Ordinal) ? e.Shape.Select((d, i) => i == 1 ? d + 8 : d).ToArray() : e.Shape)), "F16");
        using var live = LiveLoraWeights.Open(Fixtures.Checkpoint);
        var e = Assert.Throws<CheckpointException>(() => live.Apply([new LoraChoice(PathOf("other.safetensors"), 1)], "other"));
        Assert.Contains("another base model", e.Message);
        Assert.Contains("lora_", e.Message);
    }

    [Fact]
    public void LoRA_modules_that_match_nothing_are_a_warning_with_the_count()
    {
        using (var lora = SafetensorsFile.Open(Fixtures.Lora))
        {
            var renamed = lora.Entries.Values.Select(e => (e.Name.Replace("lora_te_text_model_encoder_layers_0", "lora_te_text_model_encoder_layers_9"), e.Shape));
            TestFiles.Write(PathOf("extra.safetensors"), renamed, "F16");
        }
        using var live = LiveLoraWeights.Open(Fixtures.Checkpoint);
        live.Apply([new LoraChoice(PathOf("extra.safetensors"), 1)], "extra");
        var warning = Assert.Single(live.Warnings);
        Assert.Contains("3 of", warning);
        Assert.Contains("match no weight", warning);
    }

    [Fact]
    public void A_checkpoint_behind_a_symbolic_link_reads_as_its_target()
    {
        // Model folders often link to files kept elsewhere; a link's own length is not the file's.
        File.CreateSymbolicLink(PathOf("linked.safetensors"), Fixtures.Checkpoint);
        using var file = SafetensorsFile.Open(PathOf("linked.safetensors"));
        using var direct = SafetensorsFile.Open(Fixtures.Checkpoint);
        Assert.Equal(direct.ReadFloats("model.diffusion_model.out.2.weight"), file.ReadFloats("model.diffusion_model.out.2.weight"));
        Assert.Equal(Application.UserModels.BuiltModelCache.Sha256(Fixtures.Checkpoint), Application.UserModels.BuiltModelCache.Sha256(PathOf("linked.safetensors")));
    }

    [Fact]
    public void A_LoRA_imported_alone_says_how_it_is_used()
    {
        ImportFails(Fixtures.Lora, "applied to a checkpoint at load");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
