using ControlHost.Application.Generation;
using ControlHost.Application.Sources;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// An A1111-style models folder holding the reduced SD 1.x files (Stable-diffusion/, ControlNet/, Lora/, embeddings/),
/// a build cache of its own, and one service over both, as `controlhost generate --models-dir` and `serve` set it up.
/// </summary>
public sealed class UserFolderFixture : IDisposable
{
    public UserFolderFixture()
    {
        Root = Fixtures.TempDir("a1111");
        Cache = Path.Combine(Root, "cache");
        Models = Path.Combine(Root, "webui");
        Place(Fixtures.Checkpoint, "models/Stable-diffusion/small-sd15.safetensors");
        Place(Fixtures.ControlNet, "models/ControlNet/control_small_sd15_canny.safetensors");
        Place(Fixtures.Lora, "models/Lora/small-lora.safetensors");
        Place(Fixtures.Embedding, "embeddings/smallemb.safetensors");
        Service = NewService();
    }

    public string Root { get; }
    public string Cache { get; }
    public string Models { get; }
    public GenerationService Service { get; }

    public string CheckpointFile => Path.Combine(Models, "models", "Stable-diffusion", "small-sd15.safetensors");

    /// <summary>A second service over the same folders and cache: what a second run of the program sees.</summary>
    public GenerationService NewService() => new(new ServiceOptions
    {
        ModelRoots = [Models, Path.Combine(Fixtures.Repo, "models")], CacheRoot = Cache, Device = Engine.Onnx.DeviceChoice.Cpu, Threads = 2,
        Paths = PathPolicy.Local,
    });

    private void Place(string source, string relative)
    {
        var target = Path.Combine(Models, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.Copy(source, target);
    }

    public static GenerationJob Job(string prompt, uint seed = 7, bool canny = true) => new()
    {
        Model = "small-sd15", Prompt = prompt, Width = 64, Height = 64, Steps = 4, Seed = seed, CfgScale = 5,
        Units = canny ? [new Application.Units.UnitSpec { Condition = "canny", Image = ImageSource.FromPath(Path.Combine(Fixtures.Repo, "examples", "star-scene.png")) }] : [],
    };

    public void Dispose()
    {
        Service.Dispose();
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}
