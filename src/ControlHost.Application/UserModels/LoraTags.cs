using System.Globalization;
using System.Text.RegularExpressions;

namespace ControlHost.Application.UserModels;

/// <summary>A LoRA a job asks for, by name, and its weight (A1111's multiplier).</summary>
public sealed record LoraSpec(string Name, double Weight);

/// <summary>
/// A1111's prompt syntax for LoRAs, <c>&lt;lora:NAME:WEIGHT&gt;</c> (the weight optional, 1 by default): the tags are taken
/// out of the text the model sees and the LoRAs applied; the infotext keeps the prompt as written, as A1111 does.
/// </summary>
public static partial class LoraTags
{
    public static (string Prompt, IReadOnlyList<LoraSpec> Loras) Extract(string prompt)
    {
        var loras = new List<LoraSpec>();
        var text = Tag().Replace(prompt, m =>
        {
            var weight = m.Groups["w"].Success
                ? double.TryParse(m.Groups["w"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) ? w
                    : throw new ArgumentException($"<lora:{m.Groups["name"].Value}:{m.Groups["w"].Value}>: the weight is not a number")
                : 1.0;
            loras.Add(new LoraSpec(m.Groups["name"].Value.Trim(), weight));
            return "";
        });
        return (loras.Count == 0 ? prompt : MultipleSpaces().Replace(text, " ").Trim().Trim(',').Trim(), loras);
    }

    [GeneratedRegex(@"<lora:(?<name>[^:>]+)(?::(?<w>[^:>]*))?(?::[^>]*)?>", RegexOptions.IgnoreCase)]
    private static partial Regex Tag();

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex MultipleSpaces();
}
