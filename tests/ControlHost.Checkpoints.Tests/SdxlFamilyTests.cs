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

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
