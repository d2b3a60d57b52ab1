using ControlHost.Checkpoints.Names;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Import;

/// <summary>
/// A diffusers model folder holding .safetensors (model_index.json, unet/, vae/, text_encoder/, and SDXL's
/// text_encoder_2/), read under the original single-file names: model.diffusion_model.*, first_stage_model.*,
/// cond_stage_model.transformer.text_model.* (SDXL: conditioner.embedders.0.transformer.text_model.* and OpenCLIP's
/// names under conditioner.embedders.1.model.*).
/// </summary>
public sealed class DiffusersFolder : IDisposable
{
    private readonly List<SafetensorsFile> _files = [];

    private DiffusersFolder(string root) => Root = root;

    public string Root { get; }

    /// <summary>SD 1.x, or SDXL when the folder has a second text encoder.</summary>
    public Layouts.ModelFamily Family { get; private set; } = Layouts.ModelFamily.Sd1;
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
        var derived = new List<DerivedTensor>();
        var textPrefix = "cond_stage_model.transformer.";
        if (PartFile(Root, "text_encoder_2", "model") is { } second)
        {
            Family = Layouts.ModelFamily.Sdxl;
            textPrefix = "conditioner.embedders.0.transformer.";
            AddBigG(OpenFile(second), tensors, derived);
        }
        var unmapped = new List<string>();
        var upAttention = unet.Names.Where(n => n.StartsWith("up_blocks.", StringComparison.Ordinal) && n.Contains(".attentions.", StringComparison.Ordinal))
            .Select(n => int.Parse(n.Split('.')[1])).ToHashSet();
        foreach (var e in unet.Entries.Values)
            Add(DiffusersNames.Unet(e.Name, upAttention.Contains), "model.diffusion_model.", unet, e);
        var levels = vae.Names.Where(n => n.StartsWith("encoder.down_blocks.", StringComparison.Ordinal)).Select(n => int.Parse(n.Split('.')[2])).DefaultIfEmpty(-1).Max() + 1;
        foreach (var e in vae.Entries.Values)
            Add(DiffusersNames.Vae(e.Name, levels), "first_stage_model.", vae, e);
        foreach (var e in text.Entries.Values)
            if (e.Name.StartsWith("text_model.", StringComparison.Ordinal)) tensors.Add((textPrefix + e.Name, text, e));
        if (unmapped.Count > 0)
            throw new CheckpointException(Root, $"has {unmapped.Count} UNet/VAE weights with no SD 1.x counterpart (first: {string.Join(", ", unmapped.Take(3))}): another architecture");
        Weights = new SafetensorsWeights(tensors, derived: derived);

        void Add(string? ldm, string prefix, SafetensorsFile file, TensorEntry e)
        {
            if (ldm is null) unmapped.Add(e.Name);
            else tensors.Add((prefix + ldm, file, e));
        }
    }

    /// <summary>
    /// SDXL's second encoder as diffusers keeps it (Hugging Face's CLIPTextModelWithProjection names) under OpenCLIP's
    /// names: q/k/v_proj stacked into attn.in_proj_weight/bias, layer_norm1/2 as ln_1/2, fc1/fc2 as mlp.c_fc/c_proj,
    /// final_layer_norm as ln_final, and the projection, a Linear [P, D] there, transposed into text_projection [D, P].
    /// </summary>
    private static void AddBigG(SafetensorsFile te2, List<(string, SafetensorsFile, TensorEntry)> tensors, List<DerivedTensor> derived)
    {
        const string to = CheckpointImporter.SdxlBigGPrefix;
        const string hf = "text_model.";
        void Rename(string from, string name)
        {
            if (te2.Contains(from)) tensors.Add((to + name, te2, te2.Entry(from)));
        }
        Rename(hf + "embeddings.token_embedding.weight", "token_embedding.weight");
        Rename(hf + "embeddings.position_embedding.weight", "positional_embedding");
        Rename(hf + "final_layer_norm.weight", "ln_final.weight");
        Rename(hf + "final_layer_norm.bias", "ln_final.bias");
        for (var i = 0; te2.Contains($"{hf}encoder.layers.{i}.self_attn.q_proj.weight"); i++)
        {
            var src = $"{hf}encoder.layers.{i}.";
            var dst = $"transformer.resblocks.{i}.";
            foreach (var (a, b) in new[] { ("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"), ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj") })
            {
                Rename(src + a + ".weight", dst + b + ".weight");
                Rename(src + a + ".bias", dst + b + ".bias");
            }
            foreach (var leaf in new[] { "weight", "bias" })
            {
                var parts = new[] { "q_proj", "k_proj", "v_proj" }.Select(p => $"{src}self_attn.{p}.{leaf}").ToArray();
                var shape = te2.Entry(parts[0]).Shape.ToArray();
                shape[0] *= 3;
                derived.Add(new DerivedTensor($"{to}{dst}attn.in_proj_{leaf}", shape, () => parts.SelectMany(p => SafetensorsWeights.ReadOf(te2, p)).ToArray()));
            }
        }
        if (te2.Contains("text_projection.weight"))
        {
            var s = te2.Entry("text_projection.weight").Shape; // [P, D]
            derived.Add(new DerivedTensor(to + "text_projection", [s[1], s[0]], () =>
            {
                var w = SafetensorsWeights.ReadOf(te2, "text_projection.weight");
                var t = new float[w.Length];
                for (var r = 0; r < s[0]; r++)
                    for (var c = 0; c < s[1]; c++) t[c * s[0] + r] = w[r * s[1] + c];
                return t;
            }));
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
