using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Models;
using McMaster.NETCore.Plugins;

namespace ControlHost.Plugins;

/// <summary>A plugin that loaded, with the condition types it registered (guarded).</summary>
public sealed record LoadedPlugin(PluginManifest Manifest, IReadOnlyList<GuardedConditionType> ConditionTypes);

/// <summary>A plugin that did not load, and why.</summary>
public sealed record FailedPlugin(string Folder, string? Id, string Reason);

/// <summary>
/// Finds plugin folders (each with a plugin.json), checks their contract version, loads them with
/// McMaster.NETCore.Plugins sharing an explicit list of types (<see cref="SharedTypes"/>) and registers their condition types. A plugin that fails to load or register is recorded and
/// skipped; the host and the other plugins go on.
/// </summary>
public sealed class PluginHost(ConditionRegistry registry, TimeSpan? callTimeLimit = null, TimeSpan? registrationTimeLimit = null) : IDisposable
{
    public const string ContractAssemblyName = "ControlHost.Abstractions";
    private readonly TimeSpan _timeLimit = callTimeLimit ?? TimeSpan.FromSeconds(30);
    // Registration runs a plugin's static set-up and the JIT for its first types: on a busy 2-core machine that
    // took over 2 s, so it has its own, generous limit, whatever limit the calls get.
    private readonly TimeSpan _registrationLimit = registrationTimeLimit ?? TimeSpan.FromSeconds(30);
    private readonly List<PluginLoader> _loaders = [];
    private readonly HashSet<string> _seenFolders = new(StringComparer.Ordinal);

    public List<LoadedPlugin> Loaded { get; } = [];
    public List<FailedPlugin> Failed { get; } = [];

    /// <summary>
    /// The folders searched by default: the program's own plugins/ folder, the repository's artifacts/plugins/
    /// (where the shipped plugins build to), $CONTROLHOST_PLUGINS, the user's ~/.controlhost/plugins, and
    /// <paramref name="extra"/> (--plugins DIR).
    /// </summary>
    public static IReadOnlyList<string> DefaultFolders(string? extra = null)
    {
        var folders = new List<string> { Path.Combine(AppContext.BaseDirectory, "plugins") };
        if (FindRepositoryPlugins() is { } repo) folders.Add(repo);
        if (Environment.GetEnvironmentVariable("CONTROLHOST_PLUGINS") is { Length: > 0 } env) folders.AddRange(env.Split(Path.PathSeparator));
        folders.Add(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".controlhost", "plugins"));
        if (extra is not null) folders.Add(extra);
        return folders;
    }

    /// <summary>artifacts/plugins above the program's folder, if there is one.</summary>
    public static string? FindRepositoryPlugins()
    {
        var root = ProgramFolders.FindAbove(dir => Directory.Exists(Path.Combine(dir, "artifacts", "plugins")));
        return root is null ? null : Path.Combine(root, "artifacts", "plugins");
    }

    /// <summary>A registry with every plugin found in the default folders (and <paramref name="extra"/>).</summary>
    public static PluginHost LoadDefault(string? extra = null)
    {
        var host = new PluginHost(new ConditionRegistry());
        host.LoadFrom(DefaultFolders(extra));
        return host;
    }

    public ConditionRegistry Registry => registry;

    /// <summary>Loads every plugin folder under the roots (a root that is itself a plugin folder counts too).</summary>
    public void LoadFrom(IEnumerable<string> roots)
    {
        foreach (var root in roots.Where(Directory.Exists))
        {
            if (File.Exists(Path.Combine(root, PluginManifest.FileName))) TryLoad(root);
            foreach (var dir in Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal))
                if (File.Exists(Path.Combine(dir, PluginManifest.FileName))) TryLoad(dir);
        }
    }

    private void TryLoad(string folder)
    {
        var full = Path.GetFullPath(folder);
        if (!_seenFolders.Add(full)) return;
        PluginManifest manifest;
        try
        {
            manifest = PluginManifest.Read(full);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            Failed.Add(new FailedPlugin(full, null, e.Message));
            return;
        }
        try
        {
            if (Load(manifest) is { } reason) Failed.Add(new FailedPlugin(full, manifest.Id, reason));
        }
        catch (Exception e)
        {
            Failed.Add(new FailedPlugin(full, manifest.Id, $"failed to load: {e.GetBaseException().Message}"));
        }
    }

    /// <summary>Loads one plugin; returns why it was refused, or null.</summary>
    private string? Load(PluginManifest manifest)
    {
        if (Loaded.Any(p => string.Equals(p.Manifest.Id, manifest.Id, StringComparison.OrdinalIgnoreCase)))
            return $"a plugin with id '{manifest.Id}' is already loaded";
        if (Incompatible(manifest.Contract) is { } why) return $"plugin.json declares contract {manifest.Contract.Major}.{manifest.Contract.Minor}; {why}";
        if (!File.Exists(manifest.AssemblyPath)) return $"assembly '{manifest.Assembly}' not found in {manifest.Folder}";
        if (ReferencedContract(manifest.AssemblyPath) is { } built && Incompatible(built) is { } builtWhy)
            return $"was built against contract {built.Major}.{built.Minor}; {builtWhy}";

        var loader = PluginLoader.CreateFromAssemblyFile(manifest.AssemblyPath, sharedTypes: SharedTypes,
            configure: c => c.PreferSharedTypes = false);
        _loaders.Add(loader);
        var assembly = loader.LoadDefaultAssembly();
        var entryTypes = assembly.GetExportedTypes()
            .Where(t => typeof(IControlHostPlugin).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false }).ToArray();
        if (entryTypes.Length == 0) return $"{manifest.Assembly} has no public class implementing {nameof(IControlHostPlugin)}";

        // Register into a staging list first, so a plugin that throws halfway adds nothing.
        var staged = new StagingRegistry();
        var registration = Task.Run(() =>
        {
            foreach (var type in entryTypes)
                ((IControlHostPlugin)Activator.CreateInstance(type)!).Register(staged);
        });
        try
        {
            if (!registration.Wait(_registrationLimit)) return $"registration took longer than {_registrationLimit.TotalSeconds:0.#} s";
        }
        catch (AggregateException e)
        {
            return $"threw while registering: {e.GetBaseException().Message}";
        }
        var guarded = staged.Types.Select(t => GuardedConditionType.For(t, manifest.Id, _timeLimit)).ToArray();
        foreach (var type in guarded)
        {
            var clash = type.Aliases.Prepend(type.Id).FirstOrDefault(n => registry.Find(n) is not null);
            if (clash is not null) return $"condition name '{clash}' is already registered by {Owner(clash)}";
        }
        foreach (var type in guarded) registry.AddConditionType(type);
        Loaded.Add(new LoadedPlugin(manifest, guarded));
        return null;
    }

    /// <summary>
    /// What host and plugins share, and nothing more: the contract, and the preprocessor library, which is versioned
    /// with it (its public API takes and returns only contract types, and it ships in the same release). Anything
    /// else a plugin uses it brings in its own folder, or gets the host's copy only as a fallback.
    /// </summary>
    public static Type[] SharedTypes { get; } = [typeof(IControlHostPlugin), typeof(Preprocessors.IPreprocessor)];

    private string Owner(string name) => registry.Find(name) is GuardedConditionType g ? $"plugin '{g.PluginId}'" : "the host";

    private static string? Incompatible(Version v)
    {
        if (v.Major != ContractVersion.Major) return $"this host has contract {ContractVersion.Text} (major versions differ)";
        if (v.Minor > ContractVersion.Minor) return $"this host has contract {ContractVersion.Text}, older than the plugin needs";
        return null;
    }

    /// <summary>The contract version an assembly was compiled against, read from its metadata without loading it.</summary>
    public static Version? ReferencedContract(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata) throw new BadImageFormatException($"{assemblyPath} is not a .NET assembly");
        var md = pe.GetMetadataReader();
        foreach (var handle in md.AssemblyReferences)
        {
            var reference = md.GetAssemblyReference(handle);
            if (md.GetString(reference.Name) == ContractAssemblyName) return reference.Version;
        }
        return null;
    }

    private sealed class StagingRegistry : IPluginRegistry
    {
        public List<IConditionType> Types { get; } = [];

        public void AddConditionType(IConditionType conditionType) => Types.Add(conditionType ?? throw new ArgumentNullException(nameof(conditionType)));
    }

    public void Dispose()
    {
        foreach (var l in _loaders) l.Dispose();
    }
}
