using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Tests;

/// <summary>
/// Float16 model folders, as many published SD exports are: the embedded family with float16 inputs and outputs
/// (tests/fixtures/float16, made by tools/forge/float16_io.py) gives the float32 family's image within a stated
/// tolerance, whole or mixed (a float16 UNet beside a float32 VAE and text encoder).
/// </summary>
public sealed class Float16Tests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>, IDisposable
{
    private const string Prompt = "a red square and a blue square on a yellow background";
    private readonly string _root = Directory.CreateTempSubdirectory("controlhost-f16-").FullName;

    // Rounding the latent, the context and the residuals to float16 at every step moves a few pixels by a level or
    // two; measured (seed 4242, 20 steps, one Canny unit): mean 0.02-0.05 levels of 255, 99th percentile 1, max 3.
    private const double MeanTolerance = 0.25;
    private const int Percentile99Tolerance = 2;

    private static string F16(string name) => Path.Combine(RepoPaths.Fixtures, "float16", name);

    /// <summary>A copy of the embedded folders under a temporary root, with the named components replaced by float16 ones.</summary>
    private string Folder(string tag, bool unet, bool vae, bool text, bool controlNet)
    {
        var root = Path.Combine(_root, tag);
        TestFolders.CopyTree(RepoPaths.TinySd, Path.Combine(root, ModelCatalog.DefaultModelName));
        TestFolders.CopyTree(Path.Combine(RepoPaths.Models, "controlnet-tiny-canny"), Path.Combine(root, "controlnet-tiny-canny"));
        var sd = Path.Combine(root, ModelCatalog.DefaultModelName);
        if (unet) File.Copy(F16("unet.onnx"), Path.Combine(sd, "unet", "model.onnx"), true);
        if (vae) File.Copy(F16("vae_decoder.onnx"), Path.Combine(sd, "vae_decoder", "model.onnx"), true);
        if (text) File.Copy(F16("text_encoder.onnx"), Path.Combine(sd, "text_encoder", "model.onnx"), true);
        if (controlNet) File.Copy(F16("controlnet-canny.onnx"), Path.Combine(root, "controlnet-tiny-canny", "model.onnx"), true);
        return root;
    }


    private static GenerationJob Job() => EmbeddedModelFixture.Job(Prompt, 4242, new UnitSpec { Condition = "canny", Image = EmbeddedModelFixture.Scene(1) });

    private static byte[] Generate(string root)
    {
        using var service = new GenerationService(new ServiceOptions { ModelRoots = [root], Device = DeviceChoice.Cpu, Threads = 2, Paths = PathPolicy.Local });
        return service.Generate(Job()).Images[0].Image.Pixels;
    }

    [Theory]
    [InlineData("all", true, true, true, true)]
    [InlineData("unet-only", true, false, false, false)]      // a float16 UNet with the float32 VAE and text encoder
    [InlineData("controlnet-only", false, false, false, true)] // a float16 ControlNet feeding a float32 UNet
    public void A_float16_folder_gives_the_float32_image_within_the_tolerance(string tag, bool unet, bool vae, bool text, bool controlNet)
    {
        var reference = f.Service.Generate(Job()).Images[0].Image.Pixels;
        var half = Generate(Folder(tag, unet, vae, text, controlNet));
        var differences = reference.Zip(half, (a, b) => Math.Abs(a - b)).Order().ToArray();
        var mean = differences.Average();
        var p99 = differences[(int)(differences.Length * 0.99)];
        Assert.True(mean <= MeanTolerance && p99 <= Percentile99Tolerance, $"{tag}: mean {mean:0.###}, 99th percentile {p99}, max {differences[^1]}");
        // Float16 changes the numbers, so an image identical to the float32 one would mean the float16 path was not taken.
        Assert.NotEqual(reference, half);
    }

    [Fact]
    public void A_float16_folder_gives_the_same_pixels_run_after_run()
    {
        var root = Folder("repeat", true, true, true, true);
        Assert.Equal(Generate(root), Generate(root));
    }

    public void Dispose() => Directory.Delete(_root, true);
}
