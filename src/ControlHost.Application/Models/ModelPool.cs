using ControlHost.Engine.Components;
using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;

namespace ControlHost.Application.Models;

/// <summary>
/// Loaded base models, shared by every request (and, through each model's own caches, its ControlNets and adapters
/// shared by every unit that uses the same files). Thread-safe. A model is loaded once, on first use or by
/// <see cref="Load"/>; while a generation holds a lease it stays. When the loaded weights pass the memory budget,
/// models no generation is using are unloaded, least recently used first.
/// </summary>
public sealed class ModelPool(ExecutionDevice device, long budgetBytes) : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;
    private int _loads;

    /// <summary>
    /// The default budget: half of the memory this process may use (the GC's view of the machine or container
    /// limit). Real SD 1.5 exports are about 4 GB in float32, so a 16 GB machine keeps two loaded.
    /// </summary>
    public static long DefaultBudgetBytes => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    public ExecutionDevice Device => device;
    public long BudgetBytes => budgetBytes;

    /// <summary>How many times a base model has been loaded from disk since the pool was made.</summary>
    public int LoadCount => Volatile.Read(ref _loads);

    /// <summary>The roots of the models loaded now.</summary>
    public IReadOnlyList<string> Loaded
    {
        get { lock (_gate) return _entries.Values.Where(e => e.Model is not null).Select(e => e.Folder.Root).ToArray(); }
    }

    /// <summary>Loads a model now (if it is not loaded) without holding it.</summary>
    public void Load(ModelFolder folder)
    {
        using var lease = Acquire(folder);
    }

    /// <summary>Unloads a model; one in use is unloaded when its last generation ends. False if it was not loaded.</summary>
    public bool Unload(ModelFolder folder)
    {
        lock (_gate)
        {
            var entries = _entries.Values.Where(e => e.Folder.Root == folder.Root).ToList();
            foreach (var entry in entries)
            {
                entry.Unloading = true;
                if (entry.Leases == 0) Remove(entry);
            }
            return entries.Count > 0;
        }
    }

    /// <summary>The model, loaded if needed, held until the lease is disposed.</summary>
    /// <exception cref="ModelLoadException">A part is not a loadable ONNX model.</exception>
    public ModelLease Acquire(ModelFolder folder) => Acquire(folder, "", () => ModelAdditions.None);

    /// <summary>
    /// The model with additions (embedding rows, LoRA buffers), one loaded model per folder and additions key: the plain
    /// sessions and a checkpoint's LoRA sessions are loaded side by side. <paramref name="additions"/> runs only when that
    /// key is not loaded.
    /// </summary>
    public ModelLease Acquire(ModelFolder folder, string additionsKey, Func<ModelAdditions> additions)
    {
        var key = additionsKey.Length == 0 ? folder.Root : $"{folder.Root}|{additionsKey}";
        Entry entry;
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out entry!) || entry.Unloading)
            {
                entry = new Entry(folder, key);
                _entries[key] = entry;
            }
            entry.Leases++;
            entry.LastUsed = ++_clock;
        }
        try
        {
            // One loader per entry; others asking for the same model wait for it instead of loading it again.
            lock (entry)
            {
                if (entry.Model is null)
                {
                    entry.Model = StableDiffusionModel.Load(folder, device, additions());
                    Interlocked.Increment(ref _loads);
                }
            }
        }
        catch
        {
            lock (_gate)
            {
                entry.Leases--;
                if (entry.Model is null && _entries.TryGetValue(key, out var current) && current == entry) _entries.Remove(key);
            }
            throw;
        }
        return new ModelLease(this, entry);
    }

    private void Release(Entry entry)
    {
        lock (_gate)
        {
            entry.Leases--;
            entry.LastUsed = ++_clock;
            if (entry.Leases == 0 && entry.Unloading) Remove(entry);
            TrimToBudget();
        }
    }

    /// <summary>Unloads idle models, least recently used first, until the loaded weights fit the budget.</summary>
    private void TrimToBudget()
    {
        var loaded = _entries.Values.Where(e => e.Model is not null).ToList();
        var total = loaded.Sum(e => e.Model!.LoadedBytes);
        foreach (var idle in loaded.Where(e => e.Leases == 0).OrderBy(e => e.LastUsed))
        {
            if (total <= budgetBytes) break;
            total -= idle.Model!.LoadedBytes;
            Remove(idle);
        }
    }

    private void Remove(Entry entry)
    {
        if (_entries.TryGetValue(entry.Key, out var current) && current == entry) _entries.Remove(entry.Key);
        entry.Model?.Dispose();
        entry.Model = null;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var e in _entries.Values) e.Model?.Dispose();
            _entries.Clear();
        }
    }

    internal sealed class Entry(ModelFolder folder, string key)
    {
        public ModelFolder Folder { get; } = folder;
        public string Key { get; } = key;
        public StableDiffusionModel? Model { get; set; }
        public int Leases { get; set; }
        public long LastUsed { get; set; }
        public bool Unloading { get; set; }
    }

    /// <summary>A generation's hold on a loaded model.</summary>
    public sealed class ModelLease : IDisposable
    {
        private readonly ModelPool _pool;
        private readonly Entry _entry;
        private int _released;

        internal ModelLease(ModelPool pool, Entry entry)
        {
            _pool = pool;
            _entry = entry;
            Model = entry.Model!;
        }

        public StableDiffusionModel Model { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) _pool.Release(_entry);
        }
    }
}
