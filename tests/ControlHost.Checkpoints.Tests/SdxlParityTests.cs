using ControlHost.Checkpoints.Safetensors;
using ControlHost.Checkpoints.Sd1;
using ControlHost.Checkpoints.Sd2;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// The SDXL networks built in C# from the reduced SDXL checkpoint (two text encoders read at their penultimate layers,
/// bigG's pooled projection, the UNet's size conditioning and deep transformers) against PyTorch's outputs for the same
/// inputs (tests/fixtures/sdxl-small, tools/forge/sdxl_checkpoint.py): within 1e-4 relative.
/// </summary>
public sealed class SdxlParityTests
{
    private const double Tolerance = 1e-4;
    private static string Checkpoint => Path.Combine(Fixtures.SdxlDir, "checkpoint.safetensors");

    private static (string, object, long[]) Input(string name, string reference)
    {
        var (values, shape) = Fixtures.Ref(reference, Fixtures.SdxlReference);
        return (name, values, shape);
    }

    private static void Close(float[] actual, string reference)
    {
        var error = Fixtures.RelativeError(actual, Fixtures.Ref(reference, Fixtures.SdxlReference).Values);
        Assert.True(error < Tolerance, $"{reference}: relative error {error:E2}");
    }

    [Fact]
    public void The_CLIP_L_encoder_read_at_its_penultimate_layer_without_the_final_norm_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.TextEncoder(SafetensorsWeights.Of(file), "conditioner.embedders.0.transformer.text_model.", skipLast: 1, finalNorm: false));
        Close(run.Run(("input_ids", Fixtures.RefInts("text.input_ids", Fixtures.SdxlReference), [2, 77]))["last_hidden_state"], "text.hidden_penultimate");
    }

    [Fact]
    public void The_bigG_encoder_gives_its_penultimate_layer_and_the_pooled_projection_as_PyTorch()
    {
        using var file = SafetensorsFile.Open(Checkpoint);
        using var run = new GraphRunner(OpenClipGraphs.TextEncoder(SafetensorsWeights.Of(file), "conditioner.embedders.1.model.", skipLast: 1, normed: false, pooled: true));
        var outputs = run.Run(("input_ids", Fixtures.RefInts("text.input_ids_2", Fixtures.SdxlReference), [2, 77]));
        Close(outputs["last_hidden_state"], "text_2.hidden_penultimate");
        Close(outputs["text_embeds"], "text_2.text_embeds");
    }

    [Fact]
    public void The_UNet_with_size_conditioning_and_deep_transformers_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Checkpoint);
        var graph = Sd1Graphs.Unet(SafetensorsWeights.Of(file), heads: HeadRule.OfWidth(64));
        using var run = new GraphRunner(graph);
        var sample = Fixtures.Ref("unet.sample", Fixtures.SdxlReference);
        // SDXL's nine down residuals (three levels) and the middle one, fed zeros.
        long[][] shapes = [[2, 64, 8, 8], [2, 64, 8, 8], [2, 64, 8, 8], [2, 64, 4, 4], [2, 128, 4, 4], [2, 128, 4, 4], [2, 128, 2, 2], [2, 128, 2, 2], [2, 128, 2, 2]];
        var residuals = shapes.Select((s, i) => ($"down_block_{i}_additional_residual", (object)new float[s.Aggregate(1L, (a, b) => a * b)], s))
            .Append(("mid_block_additional_residual", new float[2 * 128 * 2 * 2], [2, 128, 2, 2])).ToArray();
        var outputs = run.Run([Input("sample", "unet.sample"), Input("timestep", "unet.timestep"), Input("encoder_hidden_states", "unet.context"),
            Input("text_embeds", "unet.text_embeds"), Input("time_ids", "unet.time_ids"), .. residuals]);
        Close(outputs["out_sample"], "unet.out_sample");
        Assert.Equal(4, sample.Shape.Length);
    }

    [Fact]
    public void The_VAE_decoder_matches_PyTorch()
    {
        using var file = SafetensorsFile.Open(Checkpoint);
        using var run = new GraphRunner(Sd1Graphs.VaeDecoder(SafetensorsWeights.Of(file)));
        Close(run.Run(Input("latent_sample", "unet.sample"))["sample"], "vae.decoded");
    }
}
