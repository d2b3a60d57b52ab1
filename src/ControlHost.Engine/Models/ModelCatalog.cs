namespace ControlHost.Engine.Models;

/// <summary>
/// The models, ControlNets and adapters found under the model roots: CONTROLHOST_MODELS, ./models, and the
/// repository's models/ found by walking up from the program's folder (so a fresh clone works anywhere inside it).
/// </summary>
public sealed class ModelCatalog
{
    public const string DefaultModelName = "tiny-sd";

    public ModelCatalog(IEnumerable<string> roots)
    {
        Roots = roots.Select(Path.GetFullPath).Where(Directory.Exists).Distinct().ToArray();
        foreach (var root in Roots)
        {
            Files.Scan(root);
            foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
            {
                if (UserFiles.IsDiffusersFolder(dir)) Files.Checkpoints.Add(Path.GetFullPath(dir));
                else if (ModelFolder.LooksLikeModel(dir)) Models.Add(dir);
                else if (ControlNetFolder.LooksLikeControlNet(dir)) TryAdd(() => ControlNets.Add(ControlNetFolder.Open(dir)), dir);
                else if (AdapterFolder.LooksLikeAdapter(dir)) TryAdd(() => Adapters.Add(AdapterFolder.Open(dir)), dir);
            }
        }
    }

    public IReadOnlyList<string> Roots { get; }
    public List<string> Models { get; } = [];
    public List<ControlNetFolder> ControlNets { get; } = [];
    public List<AdapterFolder> Adapters { get; } = [];

    /// <summary>Users' .safetensors files in A1111's or ComfyUI's folders under the roots.</summary>
    public UserFiles Files { get; } = new();

    /// <summary>What turns a user's file into a folder the engine loads; null: files cannot be opened.</summary>
    public IUserFileBuilder? Builder { get; set; }

    /// <summary>Every model name a request may use: folders, then checkpoint files by their stem.</summary>
    public IEnumerable<string> ModelNames =>
        Models.Select(m => Path.GetFileName(m)!).Concat(Files.Checkpoints.Select(Path.GetFileNameWithoutExtension))!;

    /// <summary>Folders that looked like models but could not be read, with the reason.</summary>
    public List<string> Problems { get; } = [];

    public static ModelCatalog Default(string? extraRoot = null)
    {
        var roots = new List<string>();
        if (extraRoot is not null) roots.Add(extraRoot);
        if (Environment.GetEnvironmentVariable("CONTROLHOST_MODELS") is { Length: > 0 } env) roots.Add(env);
        roots.Add(Path.Combine(Directory.GetCurrentDirectory(), "models"));
        if (FindRepositoryModels() is { } repo) roots.Add(repo);
        return new ModelCatalog(roots);
    }

    /// <summary>The repository's models/ folder above the program's own folder, if there is one.</summary>
    public static string? FindRepositoryModels()
    {
        var root = ProgramFolders.FindAbove(dir => Directory.Exists(Path.Combine(dir, "models", DefaultModelName)));
        return root is null ? null : Path.Combine(root, "models");
    }

    /// <summary>Whether a model folder's UNet takes 9 input channels (unet/config.json), i.e. is an inpainting UNet.</summary>
    public static bool IsInpainting(string modelDir) =>
        JsonConfig.Read(Path.Combine(modelDir, "unet", "config.json")).Number("in_channels") is 9;

    /// <summary>A model by folder path or by name under the roots.</summary>
    /// <exception cref="DirectoryNotFoundException">Neither; the message lists the models found.</exception>
    public ModelFolder ResolveModel(string? nameOrPath)
    {
        var name = nameOrPath ?? DefaultModelName;
        if (Directory.Exists(name) && UserFiles.IsDiffusersFolder(name)) return ModelFolder.Open(Build(name, b => b.BuildBaseModel(name)));
        if (Directory.Exists(name)) return ModelFolder.Open(name);
        if (UserFiles.IsModelFile(name) && File.Exists(name)) return ModelFolder.Open(Build(name, b => b.BuildBaseModel(name)));
        var match = Models.FirstOrDefault(m => string.Equals(Path.GetFileName(m), name, StringComparison.OrdinalIgnoreCase));
        if (match is not null) return ModelFolder.Open(match);
        if (UserFiles.Find(Files.Checkpoints, name) is { } file) return ModelFolder.Open(Build(file, b => b.BuildBaseModel(file)));
        var found = ModelNames.ToArray();
        throw new DirectoryNotFoundException(
            $"model '{name}' not found (found: {(found.Length == 0 ? "none" : string.Join(", ", found))}; " +
            $"searched {string.Join(", ", Roots.Select(Path.GetFileName).DefaultIfEmpty("no model roots"))}); name one of those, a model folder or a .safetensors checkpoint");
    }

    /// <summary>
    /// The ControlNet a unit uses: the one it names (folder or name), else one for its condition, preferring the
    /// base model's family.
    /// </summary>
    public ControlNetFolder ResolveControlNet(string? nameOrPath, string condition, string baseModel, Families.ModelFamily? family = null)
    {
        if (nameOrPath is not null)
        {
            if (Directory.Exists(nameOrPath)) return ControlNetFolder.Open(nameOrPath);
            if (UserFiles.IsModelFile(nameOrPath) && File.Exists(nameOrPath)) return OpenControlNetFile(nameOrPath);
            var folder = ControlNets.FirstOrDefault(c => string.Equals(c.Name, nameOrPath, StringComparison.OrdinalIgnoreCase));
            if (folder is not null) return folder;
            if (UserFiles.Find(Files.ControlNets, nameOrPath) is { } file) return OpenControlNetFile(file);
            throw new DirectoryNotFoundException(
                $"ControlNet '{nameOrPath}' not found (found: {string.Join(", ", ControlNetNames.DefaultIfEmpty("none"))})");
        }
        // A folder made for this model (by name) or for its family serves it; other families' ControlNets are passed by.
        bool Serves(ControlNetFolder c) => string.Equals(c.Base, baseModel, StringComparison.OrdinalIgnoreCase) || (family is not null && c.Family == family);
        bool OfFamily(string file) => family is not null && Builder!.FamilyOf(file) == family.Id;
        var forCondition = ControlNets.Where(c => string.Equals(c.Condition, condition, StringComparison.OrdinalIgnoreCase)).ToArray();
        string[] FilesFor(string c) => Builder is null ? [] : Files.ControlNets.Where(f => string.Equals(Builder.ConditionOf(f), c, StringComparison.OrdinalIgnoreCase)).ToArray();
        var files = FilesFor(condition);
        // In order: a folder for the condition made for this model or family; the user's file for the condition of
        // this family; a union ControlNet of this family (folder, then file: one network for many conditions); then
        // whatever else serves the condition, files first (loading it names the family mismatch).
        if (forCondition.FirstOrDefault(Serves) is { } own) return own;
        if (files.FirstOrDefault(OfFamily) is { } familyFile) return OpenControlNetFile(familyFile);
        if (ControlNets.FirstOrDefault(c => c.IsUnion && Serves(c)) is { } union) return union;
        if (FilesFor("union").FirstOrDefault(OfFamily) is { } unionFile) return OpenControlNetFile(unionFile);
        if (files.FirstOrDefault() is { } anyFile) return OpenControlNetFile(anyFile);
        return forCondition.FirstOrDefault()
            ?? throw new DirectoryNotFoundException(
                $"no ControlNet for condition '{condition}' under {string.Join(", ", Roots.Select(Path.GetFileName).DefaultIfEmpty("no model roots"))}; " +
                "put one there (a folder with model.onnx and controlnet.json) or name it with model=DIR");
    }

    /// <summary>
    /// Each model a request may name with its family and native size, without building anything: folders read their
    /// own files; a user's checkpoint file is recognised from its header (family null when it cannot be read) and
    /// given its family's size.
    /// </summary>
    public IEnumerable<(string Name, Families.ModelFamily? Family, int NativeSize)> Describe()
    {
        foreach (var m in Models)
        {
            var folder = ModelFolder.Open(m);
            yield return (Path.GetFileName(m), folder.Family, folder.NativeSize);
        }
        foreach (var file in Files.Checkpoints)
        {
            var family = Families.ModelFamily.Find(Builder?.FamilyOf(file));
            yield return (Path.GetFileNameWithoutExtension(file), family, family?.NativeSize ?? 512);
        }
    }

    /// <summary>A ControlNet folder's family: its "base" when that names a family, else the family of the model it names.</summary>
    public Families.ModelFamily? FamilyOf(ControlNetFolder controlNet)
    {
        if (controlNet.Family is { } family) return family;
        var model = Models.FirstOrDefault(m => string.Equals(Path.GetFileName(m), controlNet.Base, StringComparison.OrdinalIgnoreCase));
        return model is null ? null : ModelFolder.Open(model).Family;
    }

    /// <summary>Every ControlNet name a unit may use: folders, then files by their stem.</summary>
    public IEnumerable<string> ControlNetNames =>
        ControlNets.Select(c => c.Name).Concat(Files.ControlNets.Select(f => Path.GetFileNameWithoutExtension(f)!));

    private ControlNetFolder OpenControlNetFile(string file) => ControlNetFolder.Open(Build(file, b => b.BuildControlNet(file)));

    private string Build(string file, Func<IUserFileBuilder, string> build) =>
        build(Builder ?? throw new InvalidDataException(
            $"'{Path.GetFileName(file)}' is a model file, but this program was set up without the builder that opens model files"));

    private void TryAdd(Action add, string dir)
    {
        try { add(); }
        catch (InvalidDataException e) { Problems.Add($"{dir}: {e.Message}"); }
    }
}
