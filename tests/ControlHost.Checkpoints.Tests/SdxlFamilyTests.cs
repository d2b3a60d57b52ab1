using ControlHost.Abstractions;
using ControlHost.Checkpoints.Import;
using ControlHost.Engine.Components;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Checkpoints.Tests;

/// <summary>The reduced SDXL checkpoint (tests/fixtures/sdxl-small) imported and run: the folder says what the file is,
/// and a whole generation (two text encoders, pooled embedding, size conditioning) matches PyTorch's from the same noise.</summary>
public sealed class SdxlFamilyTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir("sdxl");
    private static string Tokenizer => Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer");
    private static string Checkpoint => Path.Combine(Fixtures.SdxlDir, "checkpoint.safetensors");

    private ImportResult Import() => CheckpointImporter.Import(Checkpoint, Path.Combine(_dir, "sdxl"), Tokenizer);

    [Fact]
    public void The_folder_has_both_encoders_their_tokenizers_the_family_and_SDXLs_size_and_latent_scale()
    {
        var result = Import();
        Assert.Equal("SDXL checkpoint (original single-file)", result.Recognised.Describe());
        var folder = ModelFolder.Open(result.Folder);
        Assert.Equal("sdxl", folder.Family.Id);
        Assert.Equal(1024, folder.NativeSize);
        Assert.Equal(0.13025, folder.LatentScale, 6);
        Assert.True(File.Exists(folder.TextEncoder2));
        Assert.Equal(PredictionType.Epsilon, NoiseSchedule.FromConfig(folder.SchedulerConfig).Prediction);
        // CLIP-L pads with the end token, bigG's tokenizer with "!" (id 0).
        var first = Engine.Text.ClipTokenizer.FromFolder(folder.TokenizerDir).EncodeForModel("a red square");
        var second = Engine.Text.ClipTokenizer.FromFolder(folder.Tokenizer2Dir).EncodeForModel("a red square");
        Assert.Equal([49406, 320, 736, 3999, 49407, 49407], first[..6]);
        Assert.Equal([49406, 320, 736, 3999, 49407, 0], second[..6]);
    }

    [Fact]
    public void A_whole_generation_matches_PyTorch_from_the_same_noise()
    {
        using var sd = StableDiffusionModel.Load(ModelFolder.Open(Import().Folder), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var request = new GenerationRequest
        {
            Prompt = "a red square", NegativePrompt = "", Width = 64, Height = 64, Steps = 4, CfgScale = 5, Sampler = SamplerId.Euler,
            Noise = Fixtures.Ref("run.noise", Fixtures.SdxlReference).Values,
        };
        var result = new DiffusionPipeline(sd).Generate(request, []);
        var latentError = Fixtures.RelativeError(result.FinalLatent, Fixtures.Ref("run.latent", Fixtures.SdxlReference).Values);
        Console.WriteLine($"SDXL whole generation: final latent relative error {latentError:E2}");
        Assert.True(latentError < 1e-5, $"final latent: relative error {latentError:E2}");
        var image = Fixtures.Ref("run.image", Fixtures.SdxlReference).Values;
        var worst = 0;
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < 64 * 64; i++)
            {
                var expected = (int)Math.Round(Math.Clamp((image[c * 64 * 64 + i] + 1) / 2, 0, 1) * 255);
                worst = Math.Max(worst, Math.Abs(expected - result.Image.Pixels[i * 3 + c]));
            }
        Assert.True(worst <= 2, $"decoded image differs by up to {worst} levels");
    }

    private static string ControlNetFile => Path.Combine(Fixtures.SdxlDir, "controlnet-diffusers.safetensors");

    private static (string, object, long[]) Input(string name, string reference)
    {
        var (values, shape) = Fixtures.Ref(reference, Fixtures.SdxlReference);
        return (name, values, shape);
    }

    [Fact]
    public void A_diffusers_SDXL_ControlNet_imports_to_a_network_with_size_conditioning_that_matches_PyTorch()
    {
        var result = CheckpointImporter.Import(ControlNetFile, Path.Combine(_dir, "cn"), Tokenizer);
        Assert.Equal("SDXL ControlNet (diffusers)", result.Recognised.Describe());
        Assert.Equal("sdxl", ControlNetFolder.Open(result.Folder).Base);
        using var cn = new OrtSession(Path.Combine(result.Folder, "model.onnx"));
        var outputs = cn.Run(Input("sample", "unet.sample"), Input("timestep", "unet.timestep"), Input("encoder_hidden_states", "unet.context"),
            Input("text_embeds", "unet.text_embeds"), Input("time_ids", "unet.time_ids"), Input("controlnet_cond", "controlnet.hint"));
        Assert.Equal(10, outputs.Count); // SDXL: nine down residuals and the middle one
        foreach (var name in Enumerable.Range(0, 9).Select(i => $"down_block_{i}_additional_residual").Append("mid_block_additional_residual"))
        {
            var error = Fixtures.RelativeError(outputs[name], Fixtures.Ref($"controlnet.{name}", Fixtures.SdxlReference).Values);
            Assert.True(error < 1e-4, $"{name}: relative error {error:E2}");
        }
    }

    [Fact]
    public void A_whole_generation_with_an_SDXL_ControlNet_matches_PyTorch_from_the_same_noise()
    {
        using var sd = StableDiffusionModel.Load(ModelFolder.Open(Import().Folder), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var cn = CheckpointImporter.Import(ControlNetFile, Path.Combine(_dir, "cn"), Tokenizer);
        var (hintValues, _) = Fixtures.Ref("run_cn.hint", Fixtures.SdxlReference);
        var hint = new RgbImage(64, 64, new byte[64 * 64 * 3]);
        for (var c = 0; c < 3; c++)
            for (var i = 0; i < 64 * 64; i++) hint.Pixels[i * 3 + c] = (byte)Math.Round(hintValues[c * 64 * 64 + i] * 255);
        var unit = new Engine.Conditioning.ControlUnit
        {
            Branch = new Engine.Conditioning.ControlNetBranch("unit 1", sd.ControlNet(ControlNetFolder.Open(cn.Folder)), hint), Module = "none", ModelName = "sdxl-cn",
        };
        var request = new GenerationRequest
        {
            Prompt = "a red square", NegativePrompt = "", Width = 64, Height = 64, Steps = 4, CfgScale = 5, Sampler = SamplerId.Euler,
            Noise = Fixtures.Ref("run.noise", Fixtures.SdxlReference).Values,
        };
        var result = new DiffusionPipeline(sd).Generate(request, [unit]);
        var latentError = Fixtures.RelativeError(result.FinalLatent, Fixtures.Ref("run_cn.latent", Fixtures.SdxlReference).Values);
        Console.WriteLine($"SDXL whole generation with a ControlNet: final latent relative error {latentError:E2}");
        Assert.True(latentError < 1e-5, $"final latent: relative error {latentError:E2}");
        // The ControlNet changes the result: the run without it ends elsewhere.
        Assert.True(Fixtures.RelativeError(result.FinalLatent, Fixtures.Ref("run.latent", Fixtures.SdxlReference).Values) > 1e-3);
    }

    [Fact]
    public void An_SDXL_ControlNet_with_an_SD1_model_and_an_SD1_ControlNet_with_an_SDXL_model_are_refused_naming_both_families()
    {
        var sd1 = CheckpointImporter.Import(Fixtures.Checkpoint, Path.Combine(_dir, "sd1"), Tokenizer);
        var xlCn = CheckpointImporter.Import(ControlNetFile, Path.Combine(_dir, "xl-cn"), Tokenizer);
        var sd1Cn = CheckpointImporter.Import(Fixtures.ControlNet, Path.Combine(_dir, "sd1-cn"), Tokenizer);
        using (var sd = StableDiffusionModel.Load(ModelFolder.Open(sd1.Folder), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2)))
        {
            var e = Assert.Throws<InvalidOperationException>(() => sd.ControlNet(ControlNetFolder.Open(xlCn.Folder)));
            Assert.Contains("made for SDXL models", e.Message);
            Assert.Contains("an SD 1.x model", e.Message);
        }
        using var xl = StableDiffusionModel.Load(ModelFolder.Open(Import().Folder), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var back = Assert.Throws<InvalidOperationException>(() => xl.ControlNet(ControlNetFolder.Open(sd1Cn.Folder)));
        Assert.Contains("made for SD 1.x models", back.Message);
        Assert.Contains("an SDXL model", back.Message);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
