using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace ControlHost.Checkpoints.Tests;

/// <summary>Writes small .safetensors files with chosen names, shapes and dtypes, for the bad-input tests.</summary>
internal static class TestFiles
{
    public static void Write(string path, IEnumerable<(string Name, long[] Shape)> tensors, string dtype = "F32")
    {
        var header = new Dictionary<string, object>();
        var data = new MemoryStream();
        foreach (var (name, shape) in tensors)
        {
            var count = shape.Aggregate(1L, (a, b) => a * b);
            var bytes = new byte[count * (dtype is "F16" or "BF16" ? 2 : dtype == "I64" ? 8 : 4)];
            header[name] = new { dtype, shape, data_offsets = new[] { data.Length, data.Length + bytes.Length } };
            data.Write(bytes);
        }
        WriteRaw(path, JsonSerializer.Serialize(header), data.ToArray());
    }

    public static void WriteRaw(string path, string header, byte[] data, long? claimedHeaderLength = null)
    {
        using var f = File.Create(path);
        var h = Encoding.UTF8.GetBytes(header);
        f.Write(BitConverter.GetBytes(claimedHeaderLength ?? h.Length));
        f.Write(h);
        f.Write(data);
    }

    /// <summary>A copy of a fixture with every key renamed by <paramref name="rename"/> (null drops it).</summary>
    public static void Rewrite(string source, string path, Func<string, string?> rename)
    {
        using var file = Safetensors.SafetensorsFile.Open(source);
        var header = new Dictionary<string, object>();
        var data = new MemoryStream();
        foreach (var e in file.Entries.Values)
        {
            var name = rename(e.Name);
            if (name is null) continue;
            var bytes = file.Bytes(e).ToArray();
            header[name] = new { dtype = e.Type.ToString().ToUpperInvariant(), shape = e.Shape, data_offsets = new[] { data.Length, data.Length + bytes.Length } };
            data.Write(bytes);
        }
        WriteRaw(path, JsonSerializer.Serialize(header), data.ToArray());
    }
}
