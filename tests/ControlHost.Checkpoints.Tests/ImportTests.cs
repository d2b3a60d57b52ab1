using System.Text.Json;
using ControlHost.Checkpoints.Additions;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// `controlhost import`'s output: a diffusers ONNX folder whose networks match PyTorch, and LoRAs and embeddings applied
/// to it by replacing initializers, against PyTorch's merged model (tools/forge/ldm_checkpoint.py).
/// </summary>
public sealed class ImportTests(ImportedFolderFixture f) : IClassFixture<ImportedFolderFixture>
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void The_imported_folder_has_every_part_of_the_folder_contract()
    {
        var dir = f.Model.Folder;
        foreach (var part in new[] { "model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt", "scheduler/scheduler_config.json",
                     "text_encoder/model.onnx", "unet/model.onnx", "unet/config.json", "vae_encoder/model.onnx", "vae_decoder/model.onnx", "vae_decoder/config.json" })
            Assert.True(File.Exists(Path.Combine(dir, part)), $"{part} missing");
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "unet", "config.json")));
        Assert.Equal(4, config.RootElement.GetProperty("in_channels").GetInt32());
        Assert.Equal(64, config.RootElement.GetProperty("cross_attention_dim").GetInt32());
        using var cn = JsonDocument.Parse(File.ReadAllText(Path.Combine(f.ControlNet.Folder, "controlnet.json")));
        Assert.Equal("sd1", cn.RootElement.GetProperty("base").GetString());
        Assert.Empty(Directory.GetDirectories(f.Root, ".*partial*"));
    }

    [Fact]
    public void The_imported_UNet_matches_PyTorch()
    {
        using var s = new OrtSession(Path.Combine(f.Model.Folder, "unet", "model.onnx"));
        var error = Fixtures.RelativeError(s.Run(OrtSession.UnetInputsWithoutControl())["out_sample"], Fixtures.Ref("unet.out_sample").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }

    [Fact]
    public void A_LoRA_merged_by_replacing_initializers_matches_PyTorch_with_the_LoRA_merged()
    {
        // the first LoRA on a checkpoint: merged into the buffers before its sessions are created
        var weight = Fixtures.Ref("lora.weight").Values[0];
        using var extras = LiveLoraWeights.Open(Fixtures.Checkpoint);
        extras.Apply([new LoraChoice(Fixtures.Lora, weight)], "lora");
        Assert.Empty(extras.Warnings);
        Assert.True(extras.Loras[0].UnetModules > 10 && extras.Loras[0].TextModules > 2, $"{extras.Loras[0].UnetModules} unet, {extras.Loras[0].TextModules} text modules");
        using (var unet = new OrtSession(Path.Combine(f.Model.Folder, "unet", "model.onnx"), extras.Unet.Select(w => (w.Name, w.Values, w.Shape)), live: true))
        {
            var out_ = unet.Run(OrtSession.UnetInputsWithoutControl())["out_sample"];
            var error = Fixtures.RelativeError(out_, Fixtures.Ref("unet.out_sample_with_lora").Values);
            Assert.True(error < Tolerance, $"UNet: relative error {error:E2}");
            // and the LoRA made a difference worth testing
            Assert.True(Fixtures.RelativeError(out_, Fixtures.Ref("unet.out_sample").Values) > 100 * Tolerance);
        }
        using var text = new OrtSession(Path.Combine(f.Model.Folder, "text_encoder", "model.onnx"), extras.TextEncoder.Select(w => (w.Name, w.Values, w.Shape)), live: true);
        var hidden = text.Run(("input_ids", Fixtures.RefInts("text.input_ids"), [2, 77]))["last_hidden_state"];
        var textError = Fixtures.RelativeError(hidden, Fixtures.Ref("text.last_hidden_state_with_lora").Values);
        Assert.True(textError < Tolerance, $"text encoder: relative error {textError:E2}");
    }

    [Fact]
    public void Switching_LoRA_sets_in_place_matches_PyTorch_without_a_new_session()
    {
        var weight = Fixtures.Ref("lora.weight").Values[0];
        using var live = LiveLoraWeights.Open(Fixtures.Checkpoint);
        using var unet = new OrtSession(Path.Combine(f.Model.Folder, "unet", "model.onnx"), live.Unet.Select(w => (w.Name, w.Values, w.Shape)), live: true);
        using var text = new OrtSession(Path.Combine(f.Model.Folder, "text_encoder", "model.onnx"), live.TextEncoder.Select(w => (w.Name, w.Values, w.Shape)), live: true);
        double UnetError(string reference) => Fixtures.RelativeError(unet.Run(OrtSession.UnetInputsWithoutControl())["out_sample"], Fixtures.Ref(reference).Values);
        double TextError(string reference) =>
            Fixtures.RelativeError(text.Run(("input_ids", Fixtures.RefInts("text.input_ids"), [2, 77]))["last_hidden_state"], Fixtures.Ref(reference).Values);

        Assert.True(UnetError("unet.out_sample") < Tolerance, "no LoRA yet");
        live.Apply([new LoraChoice(Fixtures.Lora, weight)], "a");
        Assert.True(UnetError("unet.out_sample_with_lora") < Tolerance, $"with the LoRA: {UnetError("unet.out_sample_with_lora"):E2}");
        Assert.True(TextError("text.last_hidden_state_with_lora") < Tolerance, "text encoder with the LoRA");
        live.Apply([], "");
        Assert.True(UnetError("unet.out_sample") < Tolerance, $"back to none: {UnetError("unet.out_sample"):E2}");
        Assert.True(TextError("text.last_hidden_state") < Tolerance, "text encoder back to none");
    }

    [Fact]
    public void An_embedding_takes_the_place_of_its_tokens_as_in_PyTorch()
    {
        var extras = ModelExtras.Build(Fixtures.Checkpoint, [Fixtures.Embedding]);
        var rows = extras.EmbeddingWords["embedding"];
        Assert.Equal([49408, 49409], rows);
        var ids = Fixtures.RefInts("text.input_ids");
        var positions = Fixtures.RefInts("text.embedded_positions");
        for (var k = 0; k < positions.Length; k++) ids[positions[k]] = rows[k];
        using var text = new OrtSession(Path.Combine(f.Model.Folder, "text_encoder", "model.onnx"), extras.TextEncoder.Select(w => (w.Name, w.Values, w.Shape)));
        var hidden = text.Run(("input_ids", ids, [2, 77]))["last_hidden_state"];
        var error = Fixtures.RelativeError(hidden, Fixtures.Ref("text.last_hidden_state_with_embedding").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }
}
