using ControlHost.Checkpoints.Safetensors;
using ControlHost.Checkpoints.Sd1;
using ControlHost.Checkpoints.Sd2;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// The SD 2.x networks built in C# from the reduced SD 2.x checkpoint (OpenCLIP text tower, 64-wide heads, linear
/// projections) against PyTorch's outputs for the same inputs (tests/fixtures/sd2-small, tools/forge/sd2_checkpoint.py):
/// within 1e-4 relative.
/// </summary>
public sealed class Sd2ParityTests
{
    private const double Tolerance = 1e-4;
    private static string Checkpoint => Path.Combine(Fixtures.Sd2Dir, "checkpoint.safetensors");
    private static string ControlNet => Path.Combine(Fixtures.Sd2Dir, "controlnet.safetensors");

    private static (string, object, long[]) Input(string name, string reference)
    {
        var (values, shape) = Fixtures.Ref(reference, Fixtures.Sd2Reference);
        return (name, values, shape);
    }

    private static (string, object, long[])[] UnetInputs() =>
        [Input("sample", "unet.sample"), Input("timestep", "unet.timestep"), Input("encoder_hidden_states", "unet.context")];

    private static void Close(float[] actual, string reference)
    {
        var error = Fixtures.RelativeError(actual, Fixtures.Ref(reference, Fixtures.Sd2Reference).Values);
        Assert.True(error < Tolerance, $"{reference}: relative error {error:E2}");
    }

    [Fact]
    public void The_OpenCLIP_text_encoder_read_at_its_penultimate_layer_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Checkpoint);
        using var run = new GraphRunner(OpenClipGraphs.TextEncoder(SafetensorsWeights.Of(file), "cond_stage_model.model."));
        var ids = Fixtures.RefInts("text.input_ids", Fixtures.Sd2Reference);
        Close(run.Run(("input_ids", ids, [2, 77]))["last_hidden_state"], "text.last_hidden_state");
    }

    [Fact]
    public void The_UNet_with_64_wide_heads_and_linear_projections_matches_PyTorch_with_and_without_residuals()
    {
        using var file = SafetensorsFile.Open(Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.Unet(SafetensorsWeights.Of(file), heads: HeadRule.OfWidth(64)));
        var residuals = Enumerable.Range(0, 12).Select(i => Input($"down_block_{i}_additional_residual", $"controlnet.down_block_{i}_additional_residual"))
            .Append(Input("mid_block_additional_residual", "controlnet.mid_block_additional_residual")).ToArray();
        Close(run.Run([.. UnetInputs(), .. residuals])["out_sample"], "unet.out_sample_with_residuals");
        var zeros = residuals.Select(r => (r.Item1, (object)new float[((float[])r.Item2).Length], r.Item3)).ToArray();
        Close(run.Run([.. UnetInputs(), .. zeros])["out_sample"], "unet.out_sample");
    }

    [Fact]
    public void The_SD2_ControlNet_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(ControlNet);
        using var run = new GraphRunner(Sd1Graphs.ControlNet(SafetensorsWeights.Of(file), "", HeadRule.OfWidth(64)));
        var outputs = run.Run([.. UnetInputs(), Input("controlnet_cond", "controlnet.hint")]);
        for (var i = 0; i < 12; i++) Close(outputs[$"down_block_{i}_additional_residual"], $"controlnet.down_block_{i}_additional_residual");
        Close(outputs["mid_block_additional_residual"], "controlnet.mid_block_additional_residual");
    }
}
