using System.Security.Cryptography;
using System.Text;
using ControlHost.Checkpoints.Embeddings;
using ControlHost.Checkpoints.Import;
using ControlHost.Checkpoints.Safetensors;
using ControlHost.Checkpoints.Sd1;

namespace ControlHost.Checkpoints.Additions;

/// <summary>A LoRA to apply and its weight (A1111's multiplier).</summary>
public sealed record LoraChoice(string Path, float Weight);

/// <summary>One replacement initializer: its name in the built graph, its values and shape.</summary>
public sealed record ReplacementWeight(string Name, float[] Values, long[] Shape);

/// <summary>
/// What a checkpoint's text encoder takes beside the built folder for textual inversion: the rows after the vocabulary,
/// replacing one initializer, and the words that select them. (LoRAs go through <see cref="LiveLoraWeights"/>.)
/// </summary>
public sealed record ModelExtras(string Key, IReadOnlyList<ReplacementWeight> TextEncoder,
    IReadOnlyDictionary<string, int[]> EmbeddingWords, IReadOnlyList<string> Warnings)
{
    /// <summary>CLIP's vocabulary size: textual-inversion rows take the ids after it.</summary>
    public const int VocabularySize = 49408;

    /// <summary>Reads the embeddings that fit <paramref name="checkpointPath"/>'s text encoder into its reserved rows.</summary>
    /// <exception cref="CheckpointException">The checkpoint cannot be read.</exception>
    public static ModelExtras Build(string checkpointPath, IReadOnlyList<string> embeddings)
    {
        using var checkpoint = CheckpointWeights.Open(checkpointPath);
        var warnings = new List<string>();
        if (checkpoint.Family == Layouts.ModelFamily.Sdxl)
        {
            // SDXL embeddings carry a vector for each text encoder (clip_l, clip_g); an SD 1.x one would reach CLIP-L alone.
            if (embeddings.Count > 0)
                warnings.Add($"embeddings are applied to SD 1.x and SD 2.x checkpoints so far; {embeddings.Count} skipped for this SDXL checkpoint");
            return new ModelExtras("", [], new Dictionary<string, int[]>(), warnings);
        }
        var text = new List<ReplacementWeight>();
        var width = (int)checkpoint.Weights.Shape(checkpoint.TokenEmbeddingKey)[1];
        var words = new Dictionary<string, int[]>(StringComparer.OrdinalIgnoreCase);
        var rows = new float[CheckpointImporter.EmbeddingCapacity * width];
        var used = 0;
        foreach (var path in embeddings)
        {
            Embedding e;
            try { e = EmbeddingFile.Read(path); }
            catch (CheckpointException ex)
            {
                warnings.Add($"embedding skipped: {ex.Message}");
                continue;
            }
            if (e.Width != width)
            {
                warnings.Add($"embedding '{e.Name}' is {e.Width} wide but this checkpoint's text encoder is {width}: made for another base, skipped");
                continue;
            }
            if (used + e.Count > CheckpointImporter.EmbeddingCapacity)
            {
                warnings.Add($"embedding '{e.Name}' skipped: the {CheckpointImporter.EmbeddingCapacity} vectors reserved for embeddings are taken");
                continue;
            }
            e.Vectors.CopyTo(rows, used * width);
            words[e.Name] = Enumerable.Range(VocabularySize + used, e.Count).ToArray();
            used += e.Count;
        }
        if (used > 0) text.Add(new ReplacementWeight(Sd1Graphs.EmbeddingRowsName, rows, [CheckpointImporter.EmbeddingCapacity, width]));
        return new ModelExtras(KeyOf([], embeddings), text, words, warnings);
    }

    /// <summary>Tells LoRA sets and embedding sets apart (files by path and size, weights by value).</summary>
    public static string KeyOf(IReadOnlyList<LoraChoice> loras, IReadOnlyList<string> embeddings)
    {
        if (loras.Count == 0 && embeddings.Count == 0) return "";
        var text = new StringBuilder();
        foreach (var l in loras) text.Append($"lora|{Path.GetFullPath(l.Path)}|{Size(l.Path)}|{l.Weight:R}\n");
        foreach (var e in embeddings.Order(StringComparer.Ordinal)) text.Append($"emb|{Path.GetFullPath(e)}|{Size(e)}\n");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    private static long Size(string path) => File.Exists(path) ? SafetensorsFile.Resolve(path).Length : -1;
}
