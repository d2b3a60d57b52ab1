using ControlHost.Checkpoints.Safetensors;
using ControlHost.Checkpoints.Sd1;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// Each network built in C# from the reduced SD 1.x checkpoint against PyTorch's outputs for the same inputs
/// (tests/fixtures/ldm-small/reference.safetensors, written by tools/forge/ldm_checkpoint.py): within 1e-4 relative.
/// </summary>
public sealed class GraphParityTests
{
    private const double Tolerance = 1e-4;

    [Fact]
    public void The_UNet_with_ControlNet_residuals_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Fixtures.Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.Unet(SafetensorsWeights.Of(file)));
        var inputs = UnetInputs().ToList();
        for (var i = 0; i < 12; i++) inputs.Add(Input($"down_block_{i}_additional_residual", $"controlnet.down_block_{i}_additional_residual"));
        inputs.Add(Input("mid_block_additional_residual", "controlnet.mid_block_additional_residual"));
        var outputs = run.Run(inputs.ToArray());
        var error = Fixtures.RelativeError(outputs["out_sample"], Fixtures.Ref("unet.out_sample_with_residuals").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }

    [Fact]
    public void The_UNet_fed_zero_residuals_matches_PyTorch_without_control()
    {
        using var file = SafetensorsFile.Open(Fixtures.Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.Unet(SafetensorsWeights.Of(file)));
        var error = Fixtures.RelativeError(run.Run(OrtSession.UnetInputsWithoutControl())["out_sample"], Fixtures.Ref("unet.out_sample").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }

    [Fact]
    public void The_ControlNet_in_the_bare_original_layout_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Fixtures.ControlNet);
        using var run = new GraphRunner(Sd1Graphs.ControlNet(SafetensorsWeights.Of(file), ""));
        var outputs = run.Run([.. UnetInputs(), Input("controlnet_cond", "controlnet.hint")]);
        for (var i = 0; i < 12; i++)
        {
            var error = Fixtures.RelativeError(outputs[$"down_block_{i}_additional_residual"], Fixtures.Ref($"controlnet.down_block_{i}_additional_residual").Values);
            Assert.True(error < Tolerance, $"residual {i}: relative error {error:E2}");
        }
        var mid = Fixtures.RelativeError(outputs["mid_block_additional_residual"], Fixtures.Ref("controlnet.mid_block_additional_residual").Values);
        Assert.True(mid < Tolerance, $"mid: relative error {mid:E2}");
    }

    [Fact]
    public void The_nine_channel_inpainting_UNet_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Fixtures.Inpainting);
        using var run = new GraphRunner(Sd1Graphs.Unet(SafetensorsWeights.Of(file)));
        var error = Fixtures.RelativeError(run.Run(OrtSession.UnetInputsWithoutControl("inpainting.sample"))["out_sample"], Fixtures.Ref("inpainting.out_sample").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }

    [Fact]
    public void The_VAE_encoder_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Fixtures.Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.VaeEncoder(SafetensorsWeights.Of(file)));
        var error = Fixtures.RelativeError(run.Run(Input("sample", "vae.image"))["latent_sample"], Fixtures.Ref("vae.latent_mean").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }

    [Fact]
    public void The_VAE_decoder_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Fixtures.Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.VaeDecoder(SafetensorsWeights.Of(file)));
        var error = Fixtures.RelativeError(run.Run(Input("latent_sample", "unet.sample"))["sample"], Fixtures.Ref("vae.decoded").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }

    [Fact]
    public void The_text_encoder_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Fixtures.Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.TextEncoder(SafetensorsWeights.Of(file), "cond_stage_model.transformer.text_model."));
        var ids = Fixtures.RefInts("text.input_ids");
        var error = Fixtures.RelativeError(run.Run(("input_ids", ids, [2, 77]))["last_hidden_state"], Fixtures.Ref("text.last_hidden_state").Values);
        Assert.True(error < Tolerance, $"relative error {error:E2}");
    }

    internal static IEnumerable<(string, object, long[])> UnetInputs() =>
        [Input("sample", "unet.sample"), Input("timestep", "unet.timestep"), Input("encoder_hidden_states", "unet.context")];

    internal static (string, object, long[]) Input(string name, string reference)
    {
        var (values, shape) = Fixtures.Ref(reference);
        return (name, values, shape);
    }
}
