using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Checkpoints.Import;
using ControlHost.Checkpoints.Safetensors;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Checkpoints.Tests;

/// <summary>The reduced SD 2.x checkpoint and ControlNet (tests/fixtures/sd2-small) imported and run: the folder says
/// what the file is, and a whole generation matches PyTorch's from the same noise.</summary>
public sealed class Sd2FamilyTests : IDisposable
{
    private readonly string _dir = Fixtures.TempDir("sd2");
    private static string Tokenizer => Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer");
    private static string Checkpoint => Path.Combine(Fixtures.Sd2Dir, "checkpoint.safetensors");
    private static string ControlNetFile => Path.Combine(Fixtures.Sd2Dir, "controlnet.safetensors");

    private (ImportResult Model, ImportResult ControlNet) ImportBoth() =>
        (CheckpointImporter.Import(Checkpoint, Path.Combine(_dir, "sd2"), Tokenizer), CheckpointImporter.Import(ControlNetFile, Path.Combine(_dir, "sd2-cn"), Tokenizer));

    [Fact]
    public void The_folder_records_the_family_its_velocity_prediction_its_size_and_OpenCLIPs_padding()
    {
        var (model, cn) = ImportBoth();
        Assert.Equal("SD 2.x checkpoint (original single-file)", model.Recognised.Describe());
        Assert.Contains("v-prediction (from checkpoint.yaml)", model.Notes);
        var folder = ModelFolder.Open(model.Folder);
        Assert.Equal("sd2", folder.Family.Id);
        Assert.Equal(768, folder.NativeSize);
        Assert.Equal(PredictionType.VPrediction, NoiseSchedule.FromConfig(folder.SchedulerConfig).Prediction);
        var ids = Engine.Text.ClipTokenizer.FromFolder(folder.TokenizerDir).EncodeForModel("a red square");
        Assert.Equal([49406, 320, 736, 3999, 49407, 0], ids[..6]); // "square</w>" is 3999 in vocab.json
        Assert.Equal("sd2", ControlNetFolder.Open(cn.Folder).Base);
    }

    [Fact]
    public void Without_a_yaml_the_UNets_own_answer_decides_and_the_note_says_so()
    {
        var result = CheckpointImporter.Import(Checkpoint, Path.Combine(_dir, "probed"), Tokenizer, predictsVelocity: _ => false);
        // The fixture's .yaml is beside the original file; a copy without it is read here.
        var bare = Path.Combine(_dir, "bare.safetensors");
        File.Copy(Checkpoint, bare);
        string? probed = null;
        var fromProbe = CheckpointImporter.Import(bare, Path.Combine(_dir, "bare"), Tokenizer, predictsVelocity: p => { probed = p; return true; });
        Assert.NotNull(probed);
        Assert.EndsWith(Path.Combine("unet", "model.onnx"), probed);
        Assert.Contains("v-prediction (from a test run of the UNet, as A1111 tells them apart)", fromProbe.Notes);
        var assumed = CheckpointImporter.Import(bare, Path.Combine(_dir, "assumed"), Tokenizer);
        Assert.StartsWith("epsilon prediction (assumed", assumed.Notes[0]);
        Assert.Equal(512, ModelFolder.Open(assumed.Folder).NativeSize);
        Assert.Contains("v-prediction", result.Notes[0]); // the .yaml wins over the probe
    }

    [Fact]
    public void A_whole_generation_with_a_ControlNet_matches_PyTorch_from_the_same_noise()
    {
        var (model, cn) = ImportBoth();
        using var sd = StableDiffusionModel.Load(ModelFolder.Open(model.Folder), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var hint = Fixtures.HintImage("run.hint", Fixtures.Sd2Reference);
        var unit = new ControlUnit
        {
            Branch = new ControlNetBranch("unit 1", sd.ControlNet(ControlNetFolder.Open(cn.Folder)), hint), Module = "none", ModelName = "sd2-cn",
        };
        var request = new GenerationRequest
        {
            Prompt = "a red square", NegativePrompt = "", Width = 64, Height = 64, Steps = 4, CfgScale = 5, Sampler = SamplerId.Euler,
            Noise = Fixtures.Ref("run.noise", Fixtures.Sd2Reference).Values,
        };
        var result = new DiffusionPipeline(sd).Generate(request, [unit]);
        var latentError = Fixtures.RelativeError(result.FinalLatent, Fixtures.Ref("run.latent", Fixtures.Sd2Reference).Values);
        Console.WriteLine($"SD 2.x whole generation: final latent relative error {latentError:E2}");
        Assert.True(latentError < 1e-5, $"final latent: relative error {latentError:E2}");
        var worst = Fixtures.WorstLevelDifference(result.Image, "run.image", Fixtures.Sd2Reference);
        Assert.True(worst <= 2, $"decoded image differs by up to {worst} levels");
    }

    [Fact]
    public void An_SD2_ControlNet_with_an_SD1_model_is_refused_naming_both_families()
    {
        var sd1 = CheckpointImporter.Import(Fixtures.Checkpoint, Path.Combine(_dir, "sd1"), Tokenizer);
        var cn = CheckpointImporter.Import(ControlNetFile, Path.Combine(_dir, "sd2-cn"), Tokenizer);
        using var sd = StableDiffusionModel.Load(ModelFolder.Open(sd1.Folder), ExecutionDevice.Resolve(DeviceChoice.Cpu, 2));
        var e = Assert.Throws<InvalidOperationException>(() => sd.ControlNet(ControlNetFolder.Open(cn.Folder)));
        Assert.Contains("made for SD 2.x models", e.Message);
        Assert.Contains("an SD 1.x model", e.Message);
    }

    [Fact]
    public void In_an_A1111_folder_beside_SD1_files_each_model_takes_its_familys_ControlNet()
    {
        var models = Path.Combine(_dir, "webui", "models");
        void Place(string source, string relative)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(models, relative))!);
            File.Copy(source, Path.Combine(models, relative));
        }
        Place(Fixtures.Checkpoint, "Stable-diffusion/small-sd15.safetensors");
        Place(Checkpoint, "Stable-diffusion/small-sd2.safetensors");
        Place(Path.ChangeExtension(Checkpoint, ".yaml"), "Stable-diffusion/small-sd2.yaml");
        Place(Fixtures.ControlNet, "ControlNet/control_small_sd15_canny.safetensors");
        Place(ControlNetFile, "ControlNet/control_small_sd2_canny.safetensors");
        Place(Fixtures.Embedding, "../embeddings/smallemb.safetensors");
        Place(Fixtures.Lora, "Lora/small-lora.safetensors");
        using var service = new Application.Generation.GenerationService(new Application.Generation.ServiceOptions
        {
            ModelRoots = [Path.GetDirectoryName(models)!], CacheRoot = Path.Combine(_dir, "cache"), Device = DeviceChoice.Cpu, Threads = 2,
            Paths = Application.Sources.PathPolicy.Local,
        });
        Application.Generation.GenerationJob Job(string model, string prompt = "a red square") => new()
        {
            Model = model, Prompt = prompt, Width = 64, Height = 64, Steps = 3, Seed = 5, CfgScale = 5,
            Units = [new Application.Units.UnitSpec { Condition = "canny", Image = Application.Sources.ImageSource.FromPath(Path.Combine(Fixtures.Repo, "examples", "star-scene.png")) }],
        };
        var sd2 = service.Generate(Job("small-sd2"));
        Assert.Contains("Model: control_small_sd2_canny", sd2.Images[0].Infotext);
        Assert.Equal((64, 64), (sd2.Images[0].Image.Width, sd2.Images[0].Image.Height));
        // The SD 1.x embedding (64 wide) does not fit SD 2.x's 128-wide text encoder: skipped with a word.
        Assert.Contains(sd2.Warnings, w => w.Contains("smallemb") && w.Contains("made for another base"));
        Assert.Contains("Model: control_small_sd15_canny", service.Generate(Job("small-sd15")).Images[0].Infotext);
        // The SD 1.x LoRA does not fit SD 2.x's weights: refused, naming the mismatch.
        var lora = Assert.Throws<Application.Errors.BadInputException>(() => service.Generate(Job("small-sd2", "a red square <lora:small-lora:1>")));
        Assert.Contains("made for another base model", lora.Message);
    }

    [Fact]
    public void A_kohya_SD2_LoRA_reaches_the_UNet_and_OpenCLIPs_fused_attention_and_matches_PyTorch_with_it_merged()
    {
        var folder = CheckpointImporter.Import(Checkpoint, Path.Combine(_dir, "sd2"), Tokenizer).Folder;
        using var live = Additions.LiveLoraWeights.Open(Checkpoint);
        live.Apply([new Additions.LoraChoice(Path.Combine(Fixtures.Sd2Dir, "lora.safetensors"), 1f)], "sd2-lora");
        Assert.Empty(live.Warnings);
        static IEnumerable<(string, float[], long[])> Of(IReadOnlyList<Additions.ReplacementWeight> w) => w.Select(x => (x.Name, x.Values, x.Shape));
        void Close(float[] actual, string reference, string unmerged)
        {
            var error = Fixtures.RelativeError(actual, Fixtures.Ref(reference, Fixtures.Sd2Reference).Values);
            Assert.True(error < 1e-4, $"{reference}: relative error {error:E2}");
            Assert.True(Fixtures.RelativeError(actual, Fixtures.Ref(unmerged, Fixtures.Sd2Reference).Values) > 1e-2, $"{reference}: the LoRA changed nothing");
        }
        (string, object, long[]) Input(string name, string reference)
        {
            var (values, shape) = Fixtures.Ref(reference, Fixtures.Sd2Reference);
            return (name, values, shape);
        }
        using (var unet = new OrtSession(Path.Combine(folder, "unet", "model.onnx"), Of(live.Unet), live: true))
        {
            var zeros = Enumerable.Range(0, 12).Select(i => Fixtures.Ref($"controlnet.down_block_{i}_additional_residual", Fixtures.Sd2Reference).Shape)
                .Select((s, i) => ($"down_block_{i}_additional_residual", (object)new float[s.Aggregate(1L, (a, b) => a * b)], s))
                .Append(("mid_block_additional_residual", new float[Fixtures.Ref("controlnet.mid_block_additional_residual", Fixtures.Sd2Reference).Values.Length],
                    Fixtures.Ref("controlnet.mid_block_additional_residual", Fixtures.Sd2Reference).Shape));
            Close(unet.Run([Input("sample", "unet.sample"), Input("timestep", "unet.timestep"), Input("encoder_hidden_states", "unet.context"), .. zeros])["out_sample"],
                "lora.unet.out_sample", "unet.out_sample");
        }
        using var text = new OrtSession(Path.Combine(folder, "text_encoder", "model.onnx"), Of(live.TextEncoder), live: true);
        Close(text.Run(("input_ids", Fixtures.RefInts("text.input_ids", Fixtures.Sd2Reference), [2, 77]))["last_hidden_state"],
            "lora.text.last_hidden_state", "text.last_hidden_state");
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }
}
