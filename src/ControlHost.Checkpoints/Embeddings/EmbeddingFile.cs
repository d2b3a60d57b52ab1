using ControlHost.Checkpoints.Layouts;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Embeddings;

/// <summary>A textual-inversion embedding: its name (the file's stem, the word users write) and its vectors.</summary>
public sealed record Embedding(string Name, float[] Vectors, int Count, int Width);

/// <summary>Reads A1111's <c>emb_params</c>, <c>string_to_param.*</c> and <c>clip_l</c> embeddings from .safetensors.</summary>
public static class EmbeddingFile
{
    public static Embedding Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var recognised = FileLayout.Recognise(file);
        if (recognised.Kind != FileKind.Embedding) throw new CheckpointException(path, $"is an {recognised.Describe()}, not an embedding");
        FileLayout.RequireSd1(recognised, path);
        var key = file.Contains("emb_params") ? "emb_params"
            : file.Contains("clip_l") ? "clip_l"
            : file.Names.First(n => n.StartsWith("string_to_param", StringComparison.Ordinal));
        var entry = file.Entry(key);
        var shape = entry.Shape.Length == 1 ? new[] { 1L, entry.Shape[0] } : entry.Shape;
        if (shape.Length != 2) throw new CheckpointException(path, $"'{key}' is {entry.ShapeText}; [vectors, width] expected");
        return new Embedding(Path.GetFileNameWithoutExtension(path), file.ReadFloats(key), (int)shape[0], (int)shape[1]);
    }
}
