using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Tests.Service;

public class GenerationServiceTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    private static byte[] Png(GeneratedImage image)
    {
        using var ms = new MemoryStream();
        PngParameters.Encode(image.Image, image.Infotext, ms);
        return ms.ToArray();
    }

    private static GenerationJob CannyJob(uint seed, ControlMode mode = ControlMode.Balanced) => new()
    {
        Prompt = "a red square and a blue square on a yellow background", Seed = seed, Steps = 10, CfgScale = 5,
        Units = [new UnitSpec { Condition = "canny", Image = EmbeddedModelFixture.Scene(1), Mode = mode }],
    };

    private static GenerationJob ColourJob(uint seed) => new()
    {
        Prompt = "a star and a circle", Seed = seed, Steps = 10, Sampler = "DPM++ 2M",
        Units = [new UnitSpec { Condition = "colour", Image = EmbeddedModelFixture.Scene(2) }],
    };

    [Fact]
    public async Task Two_different_generations_at_once_give_the_same_bytes_as_each_alone()
    {
        var a = Png(f.Service.Generate(CannyJob(21)).Images[0]);
        var b = Png(f.Service.Generate(ColourJob(22)).Images[0]);
        Assert.NotEqual(a, b);
        for (var round = 0; round < 2; round++)
        {
            var both = await Task.WhenAll(f.Service.GenerateAsync(CannyJob(21)), f.Service.GenerateAsync(ColourJob(22)));
            Assert.Equal(a, Png(both[0].Images[0]));
            Assert.Equal(b, Png(both[1].Images[0]));
        }
    }

    [Fact]
    public void N_generations_load_the_model_once_and_unload_frees_it()
    {
        using var service = new GenerationService(new ServiceOptions
        {
            ModelRoots = [RepoPaths.Models], Device = DeviceChoice.Cpu, Threads = 2, PluginFolders = [],
        });
        for (var i = 0; i < 3; i++) service.Generate(new GenerationJob { Prompt = "a star", Seed = (uint)i, Steps = 2 });
        Assert.Equal(1, service.Pool.LoadCount);
        Assert.Single(service.Pool.Loaded);
        Assert.True(service.Pool.Unload(service.ResolveModel(null)));
        Assert.Empty(service.Pool.Loaded);
        service.Generate(new GenerationJob { Prompt = "a star", Seed = 9, Steps = 2 });
        Assert.Equal(2, service.Pool.LoadCount);
    }

    [Fact]
    public void Over_the_memory_budget_the_least_recently_used_idle_model_is_unloaded()
    {
        using var service = new GenerationService(new ServiceOptions
        {
            ModelRoots = [RepoPaths.Models], Device = DeviceChoice.Cpu, Threads = 2, PluginFolders = [], ModelMemoryBudget = 1,
        });
        var init = EmbeddedModelFixture.Scene(0);
        var mask = TestImages.Rectangle(128, 128, 32, 32, 64, 64, (255, 255, 255), (0, 0, 0));
        service.Generate(new GenerationJob { Prompt = "a star", Seed = 1, Steps = 2 });
        service.Generate(new GenerationJob { Prompt = "a star", Seed = 1, Steps = 2, Model = "tiny-sd-inpainting", InitImage = init, Mask = mask });
        // Each model is over a 1-byte budget; once idle it goes, so only what is leased stays loaded.
        Assert.Empty(service.Pool.Loaded);
        Assert.Equal(2, service.Pool.LoadCount);
    }

    [Fact]
    public void Batches_give_consecutive_seeds_each_equal_to_its_own_single_run()
    {
        var job = new GenerationJob { Prompt = "a green triangle", Seed = 10, Steps = 4, BatchSize = 2, Iterations = 2 };
        var output = f.Service.Generate(job);
        Assert.Equal([10u, 11u, 12u, 13u], output.Images.Select(i => i.Seed));
        Assert.Contains("Batch size: 2, Batch pos: 1", output.Images[3].Infotext);
        var third = f.Service.Generate(job with { Seed = 12, BatchSize = 1, Iterations = 1 }).Images[0];
        Assert.Equal(third.Image.Pixels, output.Images[2].Image.Pixels);
        Assert.Throws<BadInputException>(() => f.Service.Generate(job with { BatchSize = 0 }));
    }

    [Fact]
    public void Control_modes_change_the_image_each_in_its_own_way()
    {
        var balanced = f.Service.Generate(CannyJob(5, ControlMode.Balanced)).Images[0].Image.Pixels;
        var promptFirst = f.Service.Generate(CannyJob(5, ControlMode.PromptFirst)).Images[0].Image.Pixels;
        var controlFirst = f.Service.Generate(CannyJob(5, ControlMode.ControlFirst)).Images[0].Image.Pixels;
        Assert.NotEqual(balanced, promptFirst);
        Assert.NotEqual(balanced, controlFirst);
        Assert.NotEqual(promptFirst, controlFirst);
        // Prompt-first fades the shallow residuals: it lies between no control and balanced control.
        var none = f.Service.Generate(CannyJob(5) with { Units = [] }).Images[0].Image.Pixels;
        double Distance(byte[] x, byte[] y) => x.Zip(y, (p, q) => Math.Abs(p - q)).Average();
        Assert.True(Distance(promptFirst, none) < Distance(balanced, none),
            $"prompt-first {Distance(promptFirst, none):0.00} from no control, balanced {Distance(balanced, none):0.00}");
    }

    [Theory]
    [InlineData(1.0, 1)]
    [InlineData(5.0, 2)]
    public void Guidance_one_runs_only_the_conditional_half(double cfg, int entriesPerStep)
    {
        var before = f.Model.Unet.EntriesRun;
        f.Pipeline.Generate(new Engine.Pipeline.GenerationRequest { Prompt = "a star", Seed = 3, Steps = 6, CfgScale = cfg }, []);
        Assert.Equal(6 * entriesPerStep, f.Model.Unet.EntriesRun - before);
    }

    [Fact]
    public void A_plain_unet_keeps_the_unmasked_latent_on_the_init_image_s_path()
    {
        // Checked on the latent, before the pixel blend that would hide it: outside the mask the final latent is the
        // init image's own latent (noised to level "clean" after the last step), inside it is generated.
        var init = EmbeddedModelFixture.Scene(0);
        var mask = TestImages.Rectangle(128, 128, 40, 32, 88, 96, (255, 255, 255), (0, 0, 0)); // cells x 5..10, y 4..11
        var result = f.Pipeline.Generate(new Engine.Pipeline.GenerationRequest
        {
            Prompt = "a yellow square", Seed = 4, Steps = 8, InitImage = init, Mask = mask, Strength = 1.0,
        }, []);
        var clean = f.Pipeline.EncodeLatent(init);
        double inside = 0, outsideMax = 0;
        var insideCount = 0;
        for (var c = 0; c < 4; c++)
            for (var y = 0; y < 16; y++)
                for (var x = 0; x < 16; x++)
                {
                    var i = (c * 16 + y) * 16 + x;
                    var diff = Math.Abs(result.FinalLatent[i] - clean[i]);
                    if (x is >= 5 and < 11 && y is >= 4 and < 12) { inside += diff; insideCount++; }
                    else outsideMax = Math.Max(outsideMax, diff);
                }
        Assert.True(outsideMax < 1e-5, $"outside the mask the latent moved by up to {outsideMax}");
        Assert.True(inside / insideCount > 0.1, $"inside the mask the latent stayed at the init image's ({inside / insideCount:0.000})");
    }

    [Fact]
    public void Progress_reports_every_step_with_previews_when_asked_and_cancellation_stops()
    {
        var reports = new List<GenerationProgress>();
        var progress = new Inline(reports.Add);
        f.Service.Generate(new GenerationJob { Prompt = "a star", Seed = 1, Steps = 6, PreviewEvery = 2 }, progress);
        Assert.Equal([1, 2, 3, 4, 5, 6], reports.Select(r => r.Step));
        Assert.Equal([2, 4], reports.Where(r => r.Preview is not null).Select(r => r.Step));
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => f.Service.Generate(new GenerationJob { Prompt = "a star", Steps = 6 }, null, cancelled.Token));
    }

    private sealed class Inline(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }

    [Fact]
    public void Images_come_as_paths_bytes_or_base64_with_or_without_a_data_url()
    {
        var path = Path.Combine(RepoPaths.Root, "examples", "star-scene.png");
        var bytes = File.ReadAllBytes(path);
        var expected = ImageSource.FromPath(path).Load(PathPolicy.Local, "image").Pixels;
        Assert.Equal(expected, ImageSource.FromBytes(bytes).Load(PathPolicy.NamesOnly, "image").Pixels);
        Assert.Equal(expected, ImageSource.FromBase64(Convert.ToBase64String(bytes)).Load(PathPolicy.NamesOnly, "image").Pixels);
        Assert.Equal(expected, ImageSource.FromBase64("data:image/png;base64," + Convert.ToBase64String(bytes)).Load(PathPolicy.NamesOnly, "image").Pixels);
        var broken = Assert.Throws<BadInputException>(() => ImageSource.FromBase64("not base64!").Load(PathPolicy.NamesOnly, "init_images"));
        Assert.Contains("base64", broken.Message);
        Assert.Equal("init_images", broken.Field);
        var truncated = Assert.Throws<BadInputException>(() => ImageSource.FromBytes(bytes[..40]).Load(PathPolicy.NamesOnly, "image"));
        Assert.Contains("cannot be decoded", truncated.Message);
    }

    [Fact]
    public void A_service_that_takes_names_only_refuses_paths_in_every_field()
    {
        using var service = new GenerationService(new ServiceOptions { ModelRoots = [RepoPaths.Models], Device = DeviceChoice.Cpu, PluginFolders = [] });
        var path = Path.Combine(RepoPaths.Root, "examples", "star-scene.png");
        var image = Assert.Throws<BadInputException>(() => service.Generate(new GenerationJob { Prompt = "x", Steps = 1, InitImage = ImageSource.FromPath(path) }));
        Assert.Contains("file-system path", image.Message);
        var model = Assert.Throws<BadInputException>(() => service.Generate(new GenerationJob { Prompt = "x", Steps = 1, Model = RepoPaths.TinySd }));
        Assert.Equal("model", model.Field);
        var missing = Assert.Throws<NotFoundException>(() => service.Generate(new GenerationJob { Prompt = "x", Steps = 1, Model = "sd-no-such" }));
        Assert.Contains("tiny-sd", missing.KnownNames);
    }

    [Fact]
    public void A_failure_inside_onnx_runtime_is_an_internal_fault_not_bad_input()
    {
        var fault = ControlHost.Application.Errors.Failures.Classify(new ModelRunException("unet/model.onnx", new InvalidOperationException("CUDA out of memory")));
        Assert.Equal(ErrorKind.Internal, fault.Kind);
        Assert.Equal(ErrorKind.BadInput, ControlHost.Application.Errors.Failures.Classify(new ArgumentException("steps 0")).Kind);
    }
}
