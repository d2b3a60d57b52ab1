using ControlHost.Checkpoints.Import;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// The same reduced weights in diffusers' layout (a model folder of .safetensors and a diffusers ControlNet, written by
/// tools/forge/ldm_checkpoint.py with its own name tables) import to networks that match the PyTorch references.
/// </summary>
public sealed class DiffusersLayoutTests : IDisposable
{
    private const double Tolerance = 1e-4;
    private readonly string _dir = Fixtures.TempDir("diffusers");
    private string Tokenizer => Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer");

    [Fact]
    public void A_diffusers_folder_imports_to_networks_that_match_PyTorch()
    {
        var result = CheckpointImporter.Import(Path.Combine(Fixtures.Dir, "diffusers-sd15"), Path.Combine(_dir, "model"), Tokenizer);
        Assert.Equal("diffusers folder", result.Recognised.Layout);
        using (var unet = new OrtSession(Path.Combine(result.Folder, "unet", "model.onnx")))
        {
            var error = Fixtures.RelativeError(unet.Run(OrtSession.UnetInputsWithoutControl())["out_sample"], Fixtures.Ref("unet.out_sample").Values);
            Assert.True(error < Tolerance, $"UNet: relative error {error:E2}");
        }
        using (var vae = new OrtSession(Path.Combine(result.Folder, "vae_decoder", "model.onnx")))
        {
            var error = Fixtures.RelativeError(vae.Run(GraphParityTests.Input("latent_sample", "unet.sample"))["sample"], Fixtures.Ref("vae.decoded").Values);
            Assert.True(error < Tolerance, $"VAE decoder: relative error {error:E2}");
        }
        using (var enc = new OrtSession(Path.Combine(result.Folder, "vae_encoder", "model.onnx")))
        {
            var error = Fixtures.RelativeError(enc.Run(GraphParityTests.Input("sample", "vae.image"))["latent_sample"], Fixtures.Ref("vae.latent_mean").Values);
            Assert.True(error < Tolerance, $"VAE encoder: relative error {error:E2}");
        }
        using var text = new OrtSession(Path.Combine(result.Folder, "text_encoder", "model.onnx"));
        var textError = Fixtures.RelativeError(text.Run(("input_ids", Fixtures.RefInts("text.input_ids"), [2, 77]))["last_hidden_state"], Fixtures.Ref("text.last_hidden_state").Values);
        Assert.True(textError < Tolerance, $"text encoder: relative error {textError:E2}");
    }

    [Fact]
    public void A_diffusers_ControlNet_imports_to_a_network_that_matches_PyTorch()
    {
        var result = CheckpointImporter.Import(Path.Combine(Fixtures.Dir, "controlnet-diffusers.safetensors"), Path.Combine(_dir, "cn"), Tokenizer);
        Assert.Equal("diffusers", result.Recognised.Layout);
        using var cn = new OrtSession(Path.Combine(result.Folder, "model.onnx"));
        var outputs = cn.Run([.. GraphParityTests.UnetInputs(), GraphParityTests.Input("controlnet_cond", "controlnet.hint")]);
        for (var i = 0; i < 12; i++)
        {
            var error = Fixtures.RelativeError(outputs[$"down_block_{i}_additional_residual"], Fixtures.Ref($"controlnet.down_block_{i}_additional_residual").Values);
            Assert.True(error < Tolerance, $"residual {i}: relative error {error:E2}");
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
