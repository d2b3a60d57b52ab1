using ControlHost.Checkpoints.Layouts;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Embeddings;

/// <summary>A textual-inversion embedding: its name (the file's stem, the word users write) and its vectors; an SDXL one
/// also has vectors for the second text encoder (<see cref="Vectors2"/>, clip_g).</summary>
public sealed record Embedding(string Name, float[] Vectors, int Count, int Width)
{
    public float[]? Vectors2 { get; init; }
    public int Width2 { get; init; }
}

/// <summary>Reads A1111's <c>emb_params</c>, <c>string_to_param.*</c> and SDXL's <c>clip_l</c> + <c>clip_g</c> embeddings from .safetensors.</summary>
public static class EmbeddingFile
{
    public static Embedding Read(string path)
    {
        using var file = SafetensorsFile.Open(path);
        var recognised = FileLayout.Recognise(file);
        if (recognised.Kind != FileKind.Embedding) throw new CheckpointException(path, $"is an {recognised.Describe()}, not an embedding");
        var key = file.Contains("emb_params") ? "emb_params"
            : file.Contains("clip_l") ? "clip_l"
            : file.Names.First(n => n.StartsWith("string_to_param", StringComparison.Ordinal));
        var entry = file.Entry(key);
        var shape = entry.Shape.Length == 1 ? new[] { 1L, entry.Shape[0] } : entry.Shape;
        if (shape.Length != 2) throw new CheckpointException(path, $"'{key}' is {entry.ShapeText}; [vectors, width] expected");
        var embedding = new Embedding(Path.GetFileNameWithoutExtension(path), file.ReadFloats(key), (int)shape[0], (int)shape[1]);
        if (!file.Contains("clip_g")) return embedding;
        var g = file.Entry("clip_g");
        var gShape = g.Shape.Length == 1 ? new[] { 1L, g.Shape[0] } : g.Shape;
        if (gShape.Length != 2 || gShape[0] != shape[0])
            throw new CheckpointException(path, $"'clip_g' is {g.ShapeText} and 'clip_l' {entry.ShapeText}; the same number of vectors for each encoder expected");
        return embedding with { Vectors2 = file.ReadFloats("clip_g"), Width2 = (int)gShape[1] };
    }
}
