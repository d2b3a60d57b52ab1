using System.Globalization;
using System.Text;
using ControlHost.Engine.Conditioning;

namespace ControlHost.Engine.Pipeline;

/// <summary>A1111's infotext: prompt, "Negative prompt:", then "Key: value" pairs, one "ControlNet i" entry per unit.</summary>
public static class Infotext
{
    public static string Format(GenerationRequest request, uint seed, int width, int height, string sampler, string model,
        IReadOnlyList<ControlUnit> units)
    {
        var sb = new StringBuilder();
        sb.Append(request.Prompt).Append('\n');
        if (request.NegativePrompt.Length > 0) sb.Append("Negative prompt: ").Append(request.NegativePrompt).Append('\n');
        var pairs = new List<string>
        {
            $"Steps: {request.Steps}", $"Sampler: {sampler}", $"CFG scale: {Num(request.CfgScale)}", $"Seed: {seed}",
            $"Size: {width}x{height}", $"Model: {model}",
        };
        if (request.InitImage is not null) pairs.Add($"Denoising strength: {Num(request.Strength)}");
        for (var i = 0; i < units.Count; i++) pairs.Add($"ControlNet {i}: \"{Unit(units[i])}\"");
        sb.Append(string.Join(", ", pairs));
        return sb.ToString();
    }

    private static string Unit(ControlUnit u)
    {
        var fields = new List<string>
        {
            $"Module: {u.Module}", $"Model: {u.ModelName}", $"Weight: {Num(u.Weight)}", $"Resize Mode: {u.ResizeModeText}",
        };
        if (u.ProcessorResolution > 0) fields.Add($"Processor Res: {u.ProcessorResolution}");
        fields.Add($"Pixel Perfect: {(u.PixelPerfect ? "True" : "False")}");
        // Options left empty (an unset model path, say) would only add noise to the text.
        fields.AddRange(u.Options.Where(kv => kv.Value.Length > 0).Select(kv => $"{kv.Key}: {kv.Value}"));
        fields.Add($"Guidance Start: {Num(u.Start)}");
        fields.Add($"Guidance End: {Num(u.End)}");
        fields.Add($"Control Mode: {ModeText(u.Mode)}");
        // Quotes and commas inside the unit would break A1111's parser.
        return string.Join(", ", fields).Replace("\"", "'");
    }

    public static string ModeText(ControlMode mode) => mode switch
    {
        ControlMode.PromptFirst => "My prompt is more important",
        ControlMode.ControlFirst => "ControlNet is more important",
        _ => "Balanced",
    };

    public static string Num(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>Splits an infotext into prompt, negative prompt and the parameters line.</summary>
    public static (string Prompt, string Negative, Dictionary<string, string> Parameters) Parse(string infotext)
    {
        var lines = infotext.Replace("\r\n", "\n").Split('\n');
        var last = lines.Length > 1 && lines[^1].StartsWith("Steps: ", StringComparison.Ordinal) ? lines.Length - 1 : lines.Length;
        var prompt = new List<string>();
        var negative = new List<string>();
        var inNegative = false;
        for (var i = 0; i < last; i++)
        {
            if (lines[i].StartsWith("Negative prompt: ", StringComparison.Ordinal))
            {
                inNegative = true;
                negative.Add(lines[i]["Negative prompt: ".Length..]);
            }
            else (inNegative ? negative : prompt).Add(lines[i]);
        }
        var parameters = last < lines.Length ? ParseParameters(lines[^1]) : new Dictionary<string, string>();
        return (string.Join("\n", prompt), string.Join("\n", negative), parameters);
    }

    /// <summary>Parses the "Key: value, ..." line of an infotext (quoted values kept whole).</summary>
    public static Dictionary<string, string> ParseParameters(string infotext)
    {
        var lines = infotext.Split('\n');
        var last = lines[^1];
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var i = 0;
        while (i < last.Length)
        {
            var colon = last.IndexOf(':', i);
            if (colon < 0) break;
            var key = last[i..colon].Trim();
            var j = colon + 1;
            while (j < last.Length && last[j] == ' ') j++;
            string value;
            if (j < last.Length && last[j] == '"')
            {
                var close = last.IndexOf('"', j + 1);
                if (close < 0) close = last.Length;
                value = last[(j + 1)..close];
                i = close + 1;
                var comma = last.IndexOf(',', i);
                i = comma < 0 ? last.Length : comma + 1;
            }
            else
            {
                var comma = last.IndexOf(',', j);
                value = (comma < 0 ? last[j..] : last[j..comma]).Trim();
                i = comma < 0 ? last.Length : comma + 1;
            }
            result[key] = value;
        }
        return result;
    }
}
