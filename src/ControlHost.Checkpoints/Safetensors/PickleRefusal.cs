namespace ControlHost.Checkpoints.Safetensors;

/// <summary>
/// Pickle files (.ckpt, .pt, .pth, .bin) can run arbitrary code when loaded; ControlHost never unpickles. A file with
/// one of those names, or whose first bytes are a zip or pickle header, is refused with the way out.
/// </summary>
public static class PickleRefusal
{
    private static readonly string[] PickleExtensions = [".ckpt", ".pt", ".pth", ".bin", ".pkl", ".pickle"];

    public static bool IsPickleName(string path) =>
        PickleExtensions.Contains(System.IO.Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    /// <exception cref="CheckpointException">The file is a pickle by name or by its first bytes.</exception>
    public static void ThrowIfPickle(string path)
    {
        if (IsPickleName(path)) throw Refusal(path);
        if (!File.Exists(path)) return;
        Span<byte> head = stackalloc byte[2];
        using var stream = File.OpenRead(path);
        if (stream.Read(head) < 2) return;
        // PyTorch's zip container starts "PK"; a bare pickle starts with the PROTO opcode 0x80.
        if ((head[0] == (byte)'P' && head[1] == (byte)'K') || head[0] == 0x80) throw Refusal(path);
    }

    private static CheckpointException Refusal(string path) => new(path,
        "is a pickle file (.ckpt/.pt/.pth/.bin), which can run code when loaded, so ControlHost never opens it; " +
        "use the .safetensors version of the model (most are published as .safetensors), or convert it once with a tool you trust");
}
