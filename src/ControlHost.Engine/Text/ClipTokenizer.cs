using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ControlHost.Engine.Text;

/// <summary>
/// CLIP's byte-level BPE tokenizer as Stable Diffusion 1.x uses it: lower-case, collapse whitespace, split with
/// CLIP's pattern, map bytes to printable characters, merge by rank, end each word with "&lt;/w&gt;", wrap in start
/// and end tokens, truncate and pad to 77 with the end token (SD 1.x) or the folder's pad token (SD 2.x's OpenCLIP
/// tokenizer pads with id 0, "!", as its special_tokens_map.json says).
/// </summary>
public sealed partial class ClipTokenizer
{
    public const int ContextLength = 77;
    private const string EndOfWord = "</w>";

    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _mergeRanks;
    private readonly Dictionary<string, string[]> _cache = new();
    private readonly char[] _byteToChar = BuildByteMap();

    public ClipTokenizer(Dictionary<string, int> vocab, IEnumerable<(string Left, string Right)> merges, string? padToken = null)
    {
        _vocab = vocab;
        _mergeRanks = new Dictionary<(string, string), int>();
        var rank = 0;
        foreach (var pair in merges) _mergeRanks.TryAdd(pair, rank++);
        StartToken = Lookup("<|startoftext|>");
        EndToken = Lookup("<|endoftext|>");
        PadToken = padToken is null ? EndToken : Lookup(padToken);
        _padText = padToken;
    }

    private readonly string? _padText;

    private readonly List<(int[] Name, int[] Rows)> _embeddings = [];

    /// <summary>
    /// A tokenizer that puts textual-inversion vectors in place of their names, as A1111 does: wherever the tokens of
    /// an embedding's name appear, they become the ids of its rows (after the vocabulary). Longer names match first.
    /// </summary>
    public ClipTokenizer WithEmbeddings(IReadOnlyDictionary<string, int[]> words)
    {
        var copy = new ClipTokenizer(_vocab, _mergeRanks.OrderBy(p => p.Value).Select(p => p.Key), _padText);
        foreach (var (word, rows) in words) copy._embeddings.Add((Encode(word).ToArray(), rows));
        copy._embeddings.Sort((a, b) => b.Name.Length.CompareTo(a.Name.Length));
        return copy;
    }

    /// <summary>The embedding names this tokenizer replaces.</summary>
    public int EmbeddingCount => _embeddings.Count;

    public int StartToken { get; }
    public int EndToken { get; }

    /// <summary>What fills the 77 positions after the end token.</summary>
    public int PadToken { get; }
    public int VocabularySize => _vocab.Count;

    /// <summary>Loads vocab.json and merges.txt from a diffusers <c>tokenizer/</c> folder.</summary>
    public static ClipTokenizer FromFolder(string folder)
    {
        var vocabPath = Path.Combine(folder, "vocab.json");
        var mergesPath = Path.Combine(folder, "merges.txt");
        if (!File.Exists(vocabPath) || !File.Exists(mergesPath))
            throw new FileNotFoundException($"tokenizer folder '{folder}' needs vocab.json and merges.txt");
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath))
            ?? throw new InvalidDataException($"'{vocabPath}' is not a JSON object of token -> id");
        var merges = new List<(string, string)>();
        foreach (var line in File.ReadLines(mergesPath))
        {
            if (line.StartsWith("#version", StringComparison.Ordinal) || line.Length == 0) continue;
            var space = line.IndexOf(' ');
            if (space <= 0) throw new InvalidDataException($"'{mergesPath}': bad merge line '{line}'");
            merges.Add((line[..space], line[(space + 1)..]));
        }
        return new ClipTokenizer(vocab, merges, PadTokenOf(folder));
    }

    /// <summary>The pad_token of special_tokens_map.json, else of tokenizer_config.json (a string or {"content": ...}),
    /// or null for CLIP's end-token padding.</summary>
    private static string? PadTokenOf(string folder)
    {
        foreach (var name in new[] { "special_tokens_map.json", "tokenizer_config.json" })
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("pad_token", out var pad)) continue;
            var text = pad.ValueKind == JsonValueKind.String ? pad.GetString()
                : pad.ValueKind == JsonValueKind.Object && pad.TryGetProperty("content", out var c) ? c.GetString() : null;
            if (text is not null) return text;
        }
        return null;
    }

    /// <summary>Token ids of <paramref name="text"/> without start/end tokens, padding or truncation.</summary>
    public List<int> Encode(string text)
    {
        var ids = new List<int>();
        var cleaned = WhitespaceRun().Replace(text, " ").Trim().ToLowerInvariant();
        foreach (Match m in SplitPattern().Matches(cleaned))
        {
            var mapped = new StringBuilder();
            foreach (var b in Encoding.UTF8.GetBytes(m.Value)) mapped.Append(_byteToChar[b]);
            foreach (var piece in Bpe(mapped.ToString())) ids.Add(Lookup(piece));
        }
        return _embeddings.Count == 0 ? ids : ReplaceEmbeddings(ids);
    }

    private List<int> ReplaceEmbeddings(List<int> ids)
    {
        var result = new List<int>(ids.Count);
        for (var i = 0; i < ids.Count;)
        {
            var match = _embeddings.FirstOrDefault(e => e.Name.Length > 0 && i + e.Name.Length <= ids.Count
                && ids.Skip(i).Take(e.Name.Length).SequenceEqual(e.Name));
            if (match.Name is null)
            {
                result.Add(ids[i++]);
                continue;
            }
            result.AddRange(match.Rows);
            i += match.Name.Length;
        }
        return result;
    }

    /// <summary>The 77 ids SD's text encoder takes: start, tokens (truncated to 75), end, padding.</summary>
    public int[] EncodeForModel(string text)
    {
        var body = Encode(text);
        var ids = new int[ContextLength];
        Array.Fill(ids, PadToken);
        ids[0] = StartToken;
        var n = Math.Min(body.Count, ContextLength - 2);
        for (var i = 0; i < n; i++) ids[i + 1] = body[i];
        ids[n + 1] = EndToken;
        return ids;
    }

    private int Lookup(string token) =>
        _vocab.TryGetValue(token, out var id) ? id : throw new InvalidDataException($"token '{token}' is not in the vocabulary");

    private string[] Bpe(string word)
    {
        if (_cache.TryGetValue(word, out var cached)) return cached;
        // Symbols are the characters; the last carries the end-of-word marker.
        var symbols = new List<string>(word.Length);
        for (var i = 0; i < word.Length; i++) symbols.Add(i == word.Length - 1 ? word[i] + EndOfWord : word[i].ToString());
        while (symbols.Count > 1)
        {
            var best = -1;
            var bestRank = int.MaxValue;
            for (var i = 0; i < symbols.Count - 1; i++)
            {
                if (_mergeRanks.TryGetValue((symbols[i], symbols[i + 1]), out var r) && r < bestRank)
                {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) break;
            var (left, right) = (symbols[best], symbols[best + 1]);
            // Merge every occurrence of the best pair, left to right, as reference BPE does.
            var merged = new List<string>(symbols.Count);
            for (var i = 0; i < symbols.Count; i++)
            {
                if (i < symbols.Count - 1 && symbols[i] == left && symbols[i + 1] == right)
                {
                    merged.Add(left + right);
                    i++;
                }
                else merged.Add(symbols[i]);
            }
            symbols = merged;
        }
        var result = symbols.ToArray();
        _cache[word] = result;
        return result;
    }

    /// <summary>GPT-2's reversible byte -> printable character table that CLIP's BPE is defined over.</summary>
    private static char[] BuildByteMap()
    {
        var map = new char[256];
        var assigned = new bool[256];
        void Keep(int from, int to)
        {
            for (var b = from; b <= to; b++) { map[b] = (char)b; assigned[b] = true; }
        }
        Keep('!', '~');
        Keep(0xA1, 0xAC);
        Keep(0xAE, 0xFF);
        var next = 0;
        for (var b = 0; b < 256; b++)
        {
            if (assigned[b]) continue;
            map[b] = (char)(256 + next++);
        }
        return map;
    }

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespaceRun();

    [GeneratedRegex(@"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+", RegexOptions.IgnoreCase)]
    private static partial Regex SplitPattern();
}
