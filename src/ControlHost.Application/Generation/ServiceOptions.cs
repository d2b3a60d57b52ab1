using ControlHost.Application.Sources;
using ControlHost.Engine.Onnx;

namespace ControlHost.Application.Generation;

/// <summary>How a process sets up its one <see cref="GenerationService"/>.</summary>
public sealed record ServiceOptions
{
    /// <summary>Model roots; null: --model's folder if any, $CONTROLHOST_MODELS, ./models and the repository's models/.</summary>
    public IReadOnlyList<string>? ModelRoots { get; init; }

    /// <summary>A models folder searched first, beside the default roots (--models-dir: an A1111 or ComfyUI installation's).</summary>
    public string? ExtraModelRoot { get; init; }

    /// <summary>An extra plugin folder beside the default ones (--plugins DIR).</summary>
    public string? ExtraPluginFolder { get; init; }

    /// <summary>Plugin folders instead of the default ones (tests).</summary>
    public IReadOnlyList<string>? PluginFolders { get; init; }

    public DeviceChoice Device { get; init; } = DeviceChoice.Auto;
    public int Threads { get; init; }

    /// <summary>Weights kept loaded before idle models are unloaded; null: <see cref="Models.ModelPool.DefaultBudgetBytes"/>.</summary>
    public long? ModelMemoryBudget { get; init; }

    /// <summary>Whether jobs may name files; a server keeps the default, names only.</summary>
    public PathPolicy Paths { get; init; } = PathPolicy.NamesOnly;

    /// <summary>Where folders built from users' .safetensors files are kept; null: <see cref="UserModels.BuiltModelCache.DefaultRoot"/>.</summary>
    public string? CacheRoot { get; init; }

    /// <summary>How large input images, and the images each resize step makes, may be.</summary>
    public ImageBudget Images { get; init; } = ImageBudget.Default;

    /// <summary>The most images one job may ask for (batch_size x n_iter).</summary>
    public int MaxImagesPerJob { get; init; } = 64;
}
