namespace ControlHost.Engine.Models;

/// <summary>
/// A base model in the diffusers ONNX layout (DESIGN.md section 3). Only checks that the parts are there;
/// <see cref="StableDiffusionModel"/> loads them.
/// </summary>
public sealed class ModelFolder
{
    private ModelFolder(string root)
    {
        Root = root;
        Name = System.IO.Path.GetFileName(root.TrimEnd(System.IO.Path.DirectorySeparatorChar, '/'));
    }

    public string Root { get; }
    public string Name { get; }
    public string TokenizerDir => Path.Combine(Root, "tokenizer");
    public string SchedulerConfig => Path.Combine(Root, "scheduler", "scheduler_config.json");
    public string TextEncoder => Path.Combine(Root, "text_encoder", "model.onnx");
    public string Unet => Path.Combine(Root, "unet", "model.onnx");
    public string UnetConfig => Path.Combine(Root, "unet", "config.json");
    public string VaeEncoder => Path.Combine(Root, "vae_encoder", "model.onnx");
    public string VaeDecoder => Path.Combine(Root, "vae_decoder", "model.onnx");

    public static bool LooksLikeModel(string dir) => File.Exists(Path.Combine(dir, "model_index.json"));

    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">A required part is missing; the message lists what is.</exception>
    public static ModelFolder Open(string dir)
    {
        var root = Path.GetFullPath(dir);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"model folder '{dir}' does not exist (see 'controlhost models' for the ones found)");
        var folder = new ModelFolder(root);
        var required = new[]
        {
            Path.Combine(root, "model_index.json"), Path.Combine(folder.TokenizerDir, "vocab.json"),
            Path.Combine(folder.TokenizerDir, "merges.txt"), folder.TextEncoder, folder.Unet, folder.VaeDecoder,
        };
        var missing = required.Where(p => !File.Exists(p)).Select(p => Path.GetRelativePath(root, p)).ToArray();
        if (missing.Length > 0)
            throw new InvalidDataException(
                $"'{dir}' is not a diffusers ONNX model folder: missing {string.Join(", ", missing)}");
        return folder;
    }

    /// <summary>The VAE latent scaling factor: vae_decoder/config.json, then model_index.json, then SD 1.x's 0.18215.</summary>
    public double LatentScale =>
        JsonConfig.Read(Path.Combine(Root, "vae_decoder", "config.json")).Number("scaling_factor")
        ?? JsonConfig.Read(Path.Combine(Root, "model_index.json")).Number("scaling_factor")
        ?? 0.18215;

    /// <summary>The native image size: unet/config.json's sample_size times 8, else 512.</summary>
    public int NativeSize => (int)(JsonConfig.Read(UnetConfig).Number("sample_size") ?? 64) * 8;
}
