namespace ControlHost.Engine.Models;

/// <summary>
/// Builds what the engine loads from a user's own file: a base-model folder from a checkpoint, a ControlNet folder from
/// a ControlNet file (cached, so the second time is a look-up). Implemented above the engine; the catalog only asks.
/// </summary>
public interface IUserFileBuilder
{
    /// <exception cref="InvalidDataException">The file cannot be used; the message says why and what to do.</exception>
    string BuildBaseModel(string file);

    /// <exception cref="InvalidDataException">The file cannot be used; the message says why and what to do.</exception>
    string BuildControlNet(string file);

    /// <summary>The condition a ControlNet file serves, from its name ("unknown" when its name does not say).</summary>
    string ConditionOf(string file);

    /// <summary>The family id a model file is made for (sd1, sd2, sdxl) from its header, or null when it cannot be read.</summary>
    string? FamilyOf(string file) => null;
}

/// <summary>
/// The users' model files under a root, in A1111's folders (Stable-diffusion/, ControlNet/, Lora/, embeddings/) or
/// ComfyUI's (checkpoints/, controlnet/, loras/, embeddings/), directly under the root or under its models/.
/// Only .safetensors files are listed; pickles are noted as skipped (ControlHost never opens them).
/// </summary>
public sealed class UserFiles
{
    public static readonly string[] CheckpointFolders = ["Stable-diffusion", "checkpoints"];
    public static readonly string[] ControlNetFolders = ["ControlNet", "controlnet"];
    public static readonly string[] LoraFolders = ["Lora", "loras"];
    public static readonly string[] EmbeddingFolders = ["embeddings"];

    /// <summary>A1111's ESRGAN and RealESRGAN folders, ComfyUI's upscale_models: image upscalers, as ONNX exports.</summary>
    public static readonly string[] UpscalerFolders = ["ESRGAN", "RealESRGAN", "upscale_models"];

    public List<string> Checkpoints { get; } = [];
    public List<string> ControlNets { get; } = [];
    public List<string> Loras { get; } = [];
    public List<string> Embeddings { get; } = [];

    /// <summary>Image upscalers (ESRGAN-type ONNX files: an image in, the image larger out).</summary>
    public List<string> Upscalers { get; } = [];
    public List<string> Skipped { get; } = [];

    public void Scan(string root)
    {
        Collect(root, CheckpointFolders, Checkpoints);
        Collect(root, ControlNetFolders, ControlNets);
        Collect(root, LoraFolders, Loras);
        Collect(root, EmbeddingFolders, Embeddings);
        Collect(root, UpscalerFolders, Upscalers, ".onnx");
        // ComfyUI keeps diffusers folders in models/diffusers/<name>/.
        foreach (var parent in new[] { root, Path.Combine(root, "models") })
        {
            var dir = Path.Combine(parent, "diffusers");
            if (!Directory.Exists(dir)) continue;
            foreach (var model in Directory.EnumerateDirectories(dir).Order(StringComparer.Ordinal))
                if (IsDiffusersFolder(model) && !Checkpoints.Contains(Path.GetFullPath(model))) Checkpoints.Add(Path.GetFullPath(model));
        }
    }

    private void Collect(string root, string[] names, List<string> into, string extension = ".safetensors")
    {
        // On a case-insensitive file system "ControlNet" and "controlnet" are one folder: list it once.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var parent in new[] { root, Path.Combine(root, "models") })
            foreach (var name in names)
            {
                var dir = Path.Combine(parent, name);
                if (!Directory.Exists(dir)) continue;
                foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    var full = Path.GetFullPath(file);
                    if (full.EndsWith(extension, StringComparison.OrdinalIgnoreCase))
                    {
                        if (seen.Add(full) && !into.Contains(full)) into.Add(full);
                    }
                    else if (IsPickleName(full))
                        Skipped.Add(extension == ".onnx"
                            ? $"{full}: a pickle file; ControlHost runs upscalers exported to ONNX"
                            : $"{full}: a pickle file; ControlHost opens only .safetensors");
                }
            }
    }

    /// <summary>A diffusers folder of .safetensors weights (model_index.json, unet/diffusion_pytorch_model.safetensors, no ONNX).</summary>
    public static bool IsDiffusersFolder(string dir) =>
        File.Exists(Path.Combine(dir, "model_index.json")) && !File.Exists(Path.Combine(dir, "unet", "model.onnx"))
        && (File.Exists(Path.Combine(dir, "unet", "diffusion_pytorch_model.safetensors")) || File.Exists(Path.Combine(dir, "unet", "diffusion_pytorch_model.fp16.safetensors")));

    private static bool IsPickleName(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".ckpt" or ".pt" or ".pth" or ".bin";

    /// <summary>The file a name means: a path to a .safetensors file, or a file here by its name with or without the extension.</summary>
    public static string? Find(IEnumerable<string> files, string name)
    {
        var stem = name.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? name[..^".safetensors".Length] : name;
        return files.FirstOrDefault(f => string.Equals(Path.GetFileNameWithoutExtension(f), stem, StringComparison.OrdinalIgnoreCase));
    }

    public static bool IsModelFile(string nameOrPath) =>
        nameOrPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || IsPickleName(nameOrPath);
}
