using ControlHost.Checkpoints.Names;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Import;

/// <summary>
/// A diffusers model folder holding .safetensors (model_index.json, unet/, vae/, text_encoder/), read under the original
/// single-file names: model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.text_model.*.
/// </summary>
public sealed class DiffusersFolder : IDisposable
{
    private readonly List<SafetensorsFile> _files = [];

    private DiffusersFolder(string root) => Root = root;

    public string Root { get; }
    public SafetensorsWeights Weights { get; private set; } = null!;
    public IReadOnlyList<SafetensorsFile> Files => _files;

    /// <summary>The part's weights file, preferring full precision: diffusion_pytorch_model.safetensors, then .fp16.</summary>
    public static string? PartFile(string root, string part, string stem)
    {
        foreach (var name in new[] { $"{stem}.safetensors", $"{stem}.fp16.safetensors" })
        {
            var path = Path.Combine(root, part, name);
            if (File.Exists(path)) return path;
        }
        return null;
    }

    public static bool Looks(string dir) => Directory.Exists(dir) && PartFile(dir, "unet", "diffusion_pytorch_model") is not null;

    /// <exception cref="CheckpointException">A part missing, a pickle part, or keys without an original name.</exception>
    public static DiffusersFolder Open(string root)
    {
        var folder = new DiffusersFolder(root);
        try
        {
            folder.Load();
            return folder;
        }
        catch
        {
            folder.Dispose();
            throw;
        }
    }

    private void Load()
    {
        string Need(string part, string stem) => PartFile(Root, part, stem)
            ?? throw new CheckpointException(Root, Directory.EnumerateFiles(Path.Combine(Root, part)).Any(f => PickleRefusal.IsPickleName(f))
                ? $"{part}/ holds only a pickle file; ControlHost reads {part}/{stem}.safetensors"
                : $"is a diffusers folder without {part}/{stem}.safetensors");
        var unet = OpenFile(Need("unet", "diffusion_pytorch_model"));
        var vae = OpenFile(Need("vae", "diffusion_pytorch_model"));
        var text = OpenFile(Need("text_encoder", "model"));
        var tensors = new List<(string, SafetensorsFile, TensorEntry)>();
        var unmapped = new List<string>();
        var upAttention = unet.Names.Where(n => n.StartsWith("up_blocks.", StringComparison.Ordinal) && n.Contains(".attentions.", StringComparison.Ordinal))
            .Select(n => int.Parse(n.Split('.')[1])).ToHashSet();
        foreach (var e in unet.Entries.Values)
            Add(DiffusersNames.Unet(e.Name, upAttention.Contains), "model.diffusion_model.", unet, e);
        var levels = vae.Names.Where(n => n.StartsWith("encoder.down_blocks.", StringComparison.Ordinal)).Select(n => int.Parse(n.Split('.')[2])).DefaultIfEmpty(-1).Max() + 1;
        foreach (var e in vae.Entries.Values)
            Add(DiffusersNames.Vae(e.Name, levels), "first_stage_model.", vae, e);
        foreach (var e in text.Entries.Values)
            if (e.Name.StartsWith("text_model.", StringComparison.Ordinal)) tensors.Add(("cond_stage_model.transformer." + e.Name, text, e));
        if (unmapped.Count > 0)
            throw new CheckpointException(Root, $"has {unmapped.Count} UNet/VAE weights with no SD 1.x counterpart (first: {string.Join(", ", unmapped.Take(3))}): another architecture");
        Weights = new SafetensorsWeights(tensors);

        void Add(string? ldm, string prefix, SafetensorsFile file, TensorEntry e)
        {
            if (ldm is null) unmapped.Add(e.Name);
            else tensors.Add((prefix + ldm, file, e));
        }
    }

    private SafetensorsFile OpenFile(string path)
    {
        var f = SafetensorsFile.Open(path);
        _files.Add(f);
        return f;
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
