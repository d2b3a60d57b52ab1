namespace ControlHost.Engine.Models;

/// <summary>
/// A base model in the diffusers ONNX layout (DESIGN.md section 3). Only checks that the parts are there;
/// <see cref="StableDiffusionModel"/> loads them. A folder may hold only its own UNet and take the other parts
/// from another folder named by <c>controlhost.json</c>'s <c>components_from</c> (relative to the folder): the
/// embedded inpainting model shares the base model's text encoder, VAE, tokenizer and scheduler that way.
/// </summary>
public sealed class ModelFolder
{
    private readonly string? _componentsFrom;

    private ModelFolder(string root, string? componentsFrom)
    {
        Root = root;
        Name = System.IO.Path.GetFileName(root.TrimEnd(System.IO.Path.DirectorySeparatorChar, '/'));
        _componentsFrom = componentsFrom;
    }

    public string Root { get; }
    public string Name { get; }
    /// <summary>The folder the parts this one lacks come from, or null.</summary>
    public string? ComponentsFrom => _componentsFrom;
    public string TokenizerDir => Part("tokenizer");
    public string SchedulerConfig => Path.Combine(Part("scheduler"), "scheduler_config.json");
    public string TextEncoder => Path.Combine(Part("text_encoder"), "model.onnx");

    /// <summary>SDXL's second text encoder and its tokenizer (absent for SD 1.x and 2.x).</summary>
    public string TextEncoder2 => Path.Combine(Part("text_encoder_2"), "model.onnx");
    public string Tokenizer2Dir => Part("tokenizer_2");
    public string Unet => Path.Combine(Root, "unet", "model.onnx");
    public string UnetConfig => Path.Combine(Root, "unet", "config.json");
    public string VaeEncoder => Path.Combine(Part("vae_encoder"), "model.onnx");
    public string VaeDecoder => Path.Combine(Part("vae_decoder"), "model.onnx");

    /// <summary>The folder of a part: this folder's own when it has one, else the components_from folder's.</summary>
    private string Part(string name)
    {
        var own = Path.Combine(Root, name);
        return _componentsFrom is null || Directory.Exists(own) ? own : Path.Combine(_componentsFrom, name);
    }

    public static bool LooksLikeModel(string dir) => File.Exists(Path.Combine(dir, "model_index.json"));

    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="InvalidDataException">A required part is missing; the message lists what is.</exception>
    public static ModelFolder Open(string dir)
    {
        var root = Path.GetFullPath(dir);
        if (!Directory.Exists(root))
            throw new DirectoryNotFoundException($"model folder '{dir}' does not exist (see 'controlhost models' for the ones found)");
        var from = JsonConfig.Read(Path.Combine(root, "controlhost.json")).Text("components_from");
        string? fromRoot = null;
        if (from is not null)
        {
            fromRoot = Path.GetFullPath(Path.Combine(root, from));
            if (!Directory.Exists(fromRoot))
                throw new InvalidDataException($"'{dir}': controlhost.json takes its components from '{from}', which does not exist");
        }
        var folder = new ModelFolder(root, fromRoot);
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
        JsonConfig.Read(Path.Combine(Path.GetDirectoryName(VaeDecoder)!, "config.json")).Number("scaling_factor")
        ?? JsonConfig.Read(Path.Combine(Root, "model_index.json")).Number("scaling_factor")
        ?? 0.18215;

    /// <summary>
    /// The guidance scale the model's makers recommend (controlhost.json's cfg_scale), used when the user gives none.
    /// The embedded tiny model follows its prompts best at 3-4 and worse above (prompt colour 72% at 4, 54% at 7).
    /// </summary>
    public double? RecommendedCfg => JsonConfig.Read(Path.Combine(Root, "controlhost.json")).Number("cfg_scale");

    /// <summary>The model's family: controlhost.json's "family" (written by the importer), else the UNet config's
    /// cross-attention width (diffusers exports).</summary>
    public Families.ModelFamily Family =>
        Families.ModelFamily.Find(JsonConfig.Read(Path.Combine(Root, "controlhost.json")).Text("family"))
        ?? Families.ModelFamily.OfContextWidth(JsonConfig.Read(UnetConfig).Number("cross_attention_dim"));

    /// <summary>The native image size: unet/config.json's sample_size times 8, else 512.</summary>
    public int NativeSize => (int)(JsonConfig.Read(UnetConfig).Number("sample_size") ?? 64) * 8;
}
