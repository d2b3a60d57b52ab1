using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace ControlHost.Checkpoints.Safetensors;

/// <summary>Element types a .safetensors file may hold (the ones ControlHost reads).</summary>
public enum StoredType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool }

/// <summary>One tensor's entry in the header: where its bytes are and what they are.</summary>
public sealed record TensorEntry(string Name, StoredType Type, long[] Shape, long Begin, long End)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public bool IsFloat => Type is StoredType.F32 or StoredType.F16 or StoredType.BF16 or StoredType.F64;
    public string ShapeText => $"[{string.Join(",", Shape)}]";
}

/// <summary>
/// A .safetensors file (8-byte little-endian header length, a JSON header of names, dtypes, shapes and byte ranges,
/// then the raw data), memory-mapped: a tensor's bytes are read when asked for, so holding the file open costs no
/// memory beyond the header, and converting one tensor at a time keeps a whole load near one copy of the weights.
/// </summary>
public sealed class SafetensorsFile : IDisposable
{
    /// <summary>Headers of real files are a few hundred kilobytes; a larger claim is a broken or hostile file.</summary>
    public const long MaxHeaderBytes = 100L * 1024 * 1024;

    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly unsafe byte* _base;
    private readonly long _dataStart;

    private unsafe SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, long dataStart,
        Dictionary<string, TensorEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _view = view;
        _dataStart = dataStart;
        Entries = entries;
        Metadata = metadata;
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _base = p + view.PointerOffset;
    }

    public string Path { get; }
    public IReadOnlyDictionary<string, TensorEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IEnumerable<string> Names => Entries.Keys;

    /// <exception cref="CheckpointException">Not a readable .safetensors file; the message says what is wrong.</exception>
    public static SafetensorsFile Open(string path)
    {
        PickleRefusal.ThrowIfPickle(path);
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        var length = Resolve(path).Length;
        if (length < 8) throw new CheckpointException(path, $"only {length} bytes: truncated, or not a .safetensors file");
        long headerLength;
        using (var stream = File.OpenRead(path))
        {
            Span<byte> eight = stackalloc byte[8];
            stream.ReadExactly(eight);
            headerLength = BitConverter.ToInt64(eight);
        }
        if (headerLength <= 1 || headerLength > MaxHeaderBytes)
            throw new CheckpointException(path, $"header length {headerLength} is outside 2..{MaxHeaderBytes} bytes: not a .safetensors file, or a corrupt one");
        if (8 + headerLength > length)
            throw new CheckpointException(path, $"header claims {headerLength} bytes but the file has {length}: truncated");
        var header = new byte[headerLength];
        using (var stream = File.OpenRead(path))
        {
            stream.Position = 8;
            stream.ReadExactly(header);
        }
        var (entries, metadata) = ParseHeader(path, header, length - 8 - headerLength);
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        return new SafetensorsFile(path, map, view, 8 + headerLength, entries, metadata);
    }

    private static (Dictionary<string, TensorEntry>, Dictionary<string, string>) ParseHeader(string path, byte[] header, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' ')); }
        catch (JsonException e) { throw new CheckpointException(path, $"header is not JSON ({e.Message}): not a .safetensors file, or a corrupt one"); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, "header is not a JSON object");
            var entries = new Dictionary<string, TensorEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind == JsonValueKind.Object)
                        foreach (var m in prop.Value.EnumerateObject())
                            metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                entries[prop.Name] = ReadEntry(path, prop, dataLength);
            }
            return (entries, metadata);
        }
    }

    private static TensorEntry ReadEntry(string path, JsonProperty prop, long dataLength)
    {
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("dtype", out var dtype) || !v.TryGetProperty("shape", out var shape)
            || !v.TryGetProperty("data_offsets", out var offsets) || offsets.GetArrayLength() != 2)
            throw new CheckpointException(path, $"tensor '{prop.Name}' has no dtype, shape and data_offsets");
        var type = dtype.GetString() switch
        {
            "F32" => StoredType.F32, "F16" => StoredType.F16, "BF16" => StoredType.BF16, "F64" => StoredType.F64,
            "I64" => StoredType.I64, "I32" => StoredType.I32, "I16" => StoredType.I16, "I8" => StoredType.I8,
            "U8" => StoredType.U8, "BOOL" => StoredType.Bool,
            var other => throw new CheckpointException(path, $"tensor '{prop.Name}' has dtype {other}, which ControlHost does not read (F32, F16, BF16, F64 and integers)"),
        };
        var dims = shape.EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (dims.Any(d => d < 0)) throw new CheckpointException(path, $"tensor '{prop.Name}' has a negative dimension");
        long begin = offsets[0].GetInt64(), end = offsets[1].GetInt64();
        var entry = new TensorEntry(prop.Name, type, dims, begin, end);
        long expected;
        try { expected = checked(entry.Count * ElementSize(type)); }
        catch (OverflowException) { throw new CheckpointException(path, $"tensor '{prop.Name}' {entry.ShapeText} is impossibly large"); }
        if (begin < 0 || end < begin || end - begin != expected)
            throw new CheckpointException(path, $"tensor '{prop.Name}' {type}{entry.ShapeText} should take {expected} bytes but its offsets say {end - begin}: a corrupt file");
        if (end > dataLength)
            throw new CheckpointException(path, $"tensor '{prop.Name}' ends at byte {end} of the data but the file holds {dataLength}: truncated (download it again)");
        return entry;
    }

    /// <summary>The file itself, through any symbolic links (a link's own length is that of its target's path).</summary>
    public static FileInfo Resolve(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? info : (FileInfo)(info.ResolveLinkTarget(returnFinalTarget: true) ?? info);
    }

    public static int ElementSize(StoredType t) => t switch
    {
        StoredType.F64 or StoredType.I64 => 8,
        StoredType.F32 or StoredType.I32 => 4,
        StoredType.F16 or StoredType.BF16 or StoredType.I16 => 2,
        _ => 1,
    };

    public bool Contains(string name) => Entries.ContainsKey(name);

    public TensorEntry Entry(string name) =>
        Entries.TryGetValue(name, out var e) ? e : throw new CheckpointException(Path, $"no tensor '{name}'");

    /// <summary>The raw bytes of a tensor, straight from the mapping (valid while the file is open).</summary>
    public unsafe ReadOnlySpan<byte> Bytes(TensorEntry e) =>
        new(_base + _dataStart + e.Begin, checked((int)(e.End - e.Begin)));

    /// <summary>A floating tensor converted to float32 (float16, bfloat16 and float64 widened or narrowed).</summary>
    /// <exception cref="CheckpointException">The tensor is not a floating type.</exception>
    public float[] ReadFloats(string name)
    {
        var e = Entry(name);
        var result = new float[e.Count];
        ReadFloats(e, result);
        return result;
    }

    public void ReadFloats(TensorEntry e, Span<float> destination)
    {
        var bytes = Bytes(e);
        switch (e.Type)
        {
            case StoredType.F32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case StoredType.F16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (var i = 0; i < halves.Length; i++) destination[i] = (float)halves[i];
                break;
            case StoredType.BF16:
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < raw.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                break;
            case StoredType.F64:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (var i = 0; i < doubles.Length; i++) destination[i] = (float)doubles[i];
                break;
            default:
                throw new CheckpointException(Path, $"tensor '{e.Name}' is {e.Type}; a floating type (F32, F16, BF16) was expected");
        }
    }

    /// <summary>An integer tensor widened to long (for ids and position tables).</summary>
    public long[] ReadLongs(string name)
    {
        var e = Entry(name);
        var bytes = Bytes(e);
        return e.Type switch
        {
            StoredType.I64 => MemoryMarshal.Cast<byte, long>(bytes).ToArray(),
            StoredType.I32 => MemoryMarshal.Cast<byte, int>(bytes).ToArray().Select(v => (long)v).ToArray(),
            _ => throw new CheckpointException(Path, $"tensor '{name}' is {e.Type}; an integer type was expected"),
        };
    }

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
