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
    /// <summary>SDXL: the rows for the second text encoder (the embeddings' clip_g vectors).</summary>
    public IReadOnlyList<ReplacementWeight> TextEncoder2 { get; init; } = [];

    /// <summary>CLIP's vocabulary size: textual-inversion rows take the ids after it.</summary>
    public const int VocabularySize = 49408;

    /// <summary>Reads the embeddings that fit <paramref name="checkpointPath"/>'s text encoder into its reserved rows.</summary>
    /// <exception cref="CheckpointException">The checkpoint cannot be read.</exception>
    public static ModelExtras Build(string checkpointPath, IReadOnlyList<string> embeddings)
    {
        using var checkpoint = CheckpointWeights.Open(checkpointPath);
        var warnings = new List<string>();
        var sdxl = checkpoint.Family == Layouts.ModelFamily.Sdxl;
        var width = (int)checkpoint.Weights.Shape(checkpoint.TokenEmbeddingKey)[1];
        // SDXL: each embedding carries vectors for both encoders (clip_l, clip_g), at the same ids in each.
        var width2 = sdxl ? (int)checkpoint.Weights.Shape(CheckpointImporter.SdxlBigGPrefix + "token_embedding.weight")[1] : 0;
        var words = new Dictionary<string, int[]>(StringComparer.OrdinalIgnoreCase);
        var rows = new float[CheckpointImporter.EmbeddingCapacity * width];
        var rows2 = new float[CheckpointImporter.EmbeddingCapacity * width2];
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
            var fits = sdxl ? e.Vectors2 is not null && e.Width == width && e.Width2 == width2 : e.Vectors2 is null && e.Width == width;
            if (!fits)
            {
                var its = e.Vectors2 is null ? $"{e.Width} wide" : $"{e.Width} + {e.Width2} wide (SDXL's clip_l + clip_g)";
                var ours = sdxl ? $"{width} + {width2}" : $"{width}";
                warnings.Add($"embedding '{e.Name}' is {its} but this checkpoint's text encoders take {ours}: made for another base, skipped");
                continue;
            }
            if (used + e.Count > CheckpointImporter.EmbeddingCapacity)
            {
                warnings.Add($"embedding '{e.Name}' skipped: the {CheckpointImporter.EmbeddingCapacity} vectors reserved for embeddings are taken");
                continue;
            }
            e.Vectors.CopyTo(rows, used * width);
            e.Vectors2?.CopyTo(rows2, used * width2);
            words[e.Name] = Enumerable.Range(VocabularySize + used, e.Count).ToArray();
            used += e.Count;
        }
        List<ReplacementWeight> text = used > 0 ? [new ReplacementWeight(Sd1Graphs.EmbeddingRowsName, rows, [CheckpointImporter.EmbeddingCapacity, width])] : [];
        List<ReplacementWeight> text2 = used > 0 && sdxl ? [new ReplacementWeight(Sd1Graphs.EmbeddingRowsName, rows2, [CheckpointImporter.EmbeddingCapacity, width2])] : [];
        return new ModelExtras(KeyOf([], embeddings), text, words, warnings) { TextEncoder2 = text2 };
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
