using System.Globalization;
using System.Text;
using ControlHost.Application.Generation;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Pipeline;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Application.Names;

/// <summary>
/// A1111's infotext (the PNG "parameters" text): prompt, "Negative prompt:", then "Key: value" pairs with one
/// "ControlNet i" entry per unit. Written and read here only.
/// </summary>
public static class Infotext
{
    /// <summary>The infotext of one generated image.</summary>
    public static string Format(GenerationRequest request, string model, IReadOnlyList<ControlUnit> units, int batchSize = 1, int batchPosition = 0,
        IEnumerable<string>? extra = null)
    {
        var sb = new StringBuilder();
        sb.Append(request.Prompt).Append('\n');
        if (request.NegativePrompt.Length > 0) sb.Append("Negative prompt: ").Append(request.NegativePrompt).Append('\n');
        var pairs = new List<string>
        {
            $"Steps: {request.Steps}", $"Sampler: {SamplerNames.Format(request.Sampler)}", $"CFG scale: {Num(request.CfgScale)}",
            $"Seed: {request.Seed}", $"Size: {request.Width}x{request.Height}", $"Model: {model}",
        };
        if (batchSize > 1)
        {
            pairs.Add($"Batch size: {batchSize}");
            pairs.Add($"Batch pos: {batchPosition}");
        }
        if (request.InitImage is not null) pairs.Add($"Denoising strength: {Num(request.Strength)}");
        if (extra is not null) pairs.AddRange(extra);
        for (var i = 0; i < units.Count; i++) pairs.Add($"ControlNet {i}: \"{Unit(units[i])}\"");
        sb.Append(string.Join(", ", pairs));
        return sb.ToString();
    }

    private static string Unit(ControlUnit u)
    {
        var fields = new List<string>
        {
            $"Module: {u.Module}", $"Model: {u.ModelName}", $"Weight: {Num(u.Weight)}", $"Resize Mode: {UnitNames.Format(u.Resize)}",
        };
        if (u.ProcessorResolution > 0) fields.Add($"Processor Res: {u.ProcessorResolution}");
        fields.Add($"Pixel Perfect: {(u.PixelPerfect ? "True" : "False")}");
        // Options left empty (an unset model path, say) would only add noise to the text.
        fields.AddRange(u.Options.Where(kv => kv.Value.Length > 0).Select(kv => $"{kv.Key}: {kv.Value}"));
        fields.Add($"Guidance Start: {Num(u.Start)}");
        fields.Add($"Guidance End: {Num(u.End)}");
        fields.Add($"Control Mode: {UnitNames.Format(u.Mode)}");
        // Quotes and commas inside the unit would break A1111's parser.
        return string.Join(", ", fields).Replace("\"", "'");
    }

    public static string Num(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>
    /// The base parameters an infotext records, as a job: what a generation with them repeats. Control images are not
    /// in a PNG, so units are not; a warning says how many there were.
    /// </summary>
    /// <exception cref="Errors.BadInputException">A recorded value does not parse; the message names it.</exception>
    public static (GenerationJob Job, IReadOnlyList<string> Warnings) ReadJob(string infotext, string source)
    {
        var (prompt, negative, p) = Parse(infotext);
        Errors.BadInputException Bad(string key) => new("infotext", $"{source}: {key} '{p[key]}' is not valid");
        int? Int(string key) => !p.ContainsKey(key) ? null
            : int.TryParse(p[key], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(key);
        double? Dbl(string key) => !p.ContainsKey(key) ? null
            : double.TryParse(p[key], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw Bad(key);
        int? width = null, height = null;
        if (p.TryGetValue("Size", out var size))
        {
            var wh = size.Split('x');
            if (wh.Length != 2 || !int.TryParse(wh[0], out var w) || !int.TryParse(wh[1], out var h)) throw Bad("Size");
            (width, height) = (w, h);
        }
        long? seed = !p.ContainsKey("Seed") ? null
            : long.TryParse(p["Seed"], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : throw Bad("Seed");
        // A1111 1.9+ records the schedule type apart ("Sampler: DPM++ 2M, Schedule type: Karras").
        var sampler = p.GetValueOrDefault("Sampler");
        if (p.TryGetValue("Schedule type", out var schedule))
            sampler = SamplerNames.WithScheduler(sampler, schedule).Sampler ?? throw Bad("Schedule type");
        var job = new GenerationJob
        {
            Prompt = prompt, NegativePrompt = negative, Steps = Int("Steps"), CfgScale = Dbl("CFG scale"),
            Sampler = sampler, Seed = seed, Strength = Dbl("Denoising strength"),
            Width = width, Height = height, Model = p.GetValueOrDefault("Model"),
        };
        if (p.ContainsKey("Hires upscaler") || p.ContainsKey("Hires upscale") || p.ContainsKey("Hires resize"))
        {
            int? resizeX = null, resizeY = null;
            if (p.TryGetValue("Hires resize", out var resize))
            {
                var xy = resize.Split('x');
                if (xy.Length != 2 || !int.TryParse(xy[0], out var rx) || !int.TryParse(xy[1], out var ry)) throw Bad("Hires resize");
                (resizeX, resizeY) = (rx, ry);
            }
            // In a hires infotext the denoising strength is the second pass's.
            job = job with
            {
                Strength = null,
                Hires = new HiresSpec
                {
                    Scale = Dbl("Hires upscale") ?? 2, ResizeX = resizeX, ResizeY = resizeY, Upscaler = p.GetValueOrDefault("Hires upscaler") ?? HiresSpec.DefaultUpscaler,
                    Steps = Int("Hires steps"), Strength = Dbl("Denoising strength"), Prompt = p.GetValueOrDefault("Hires prompt"),
                    NegativePrompt = p.GetValueOrDefault("Hires negative prompt"), Sampler = p.GetValueOrDefault("Hires sampler"),
                },
            };
        }
        if (p.ContainsKey("Masked content") || p.ContainsKey("Mask blur"))
        {
            // The region itself (a mask image or a box) is not in the text; the settings are.
            var content = p.TryGetValue("Masked content", out var c) ? InpaintNames.TryParseContent(c) ?? throw Bad("Masked content") : (Inpainting.MaskedContent?)null;
            job = job with
            {
                Inpaint = new Inpainting.InpaintSpec
                {
                    MaskBlur = Dbl("Mask blur"), Feather = Int("Mask feather") ?? 0, Content = content,
                    Invert = p.GetValueOrDefault("Mask mode") == "Inpaint not masked",
                    OnlyMasked = p.GetValueOrDefault("Inpaint area") == "Only masked", Padding = Int("Masked area padding"),
                },
            };
        }
        var units = p.Keys.Count(k => k.StartsWith("ControlNet ", StringComparison.Ordinal));
        var warnings = new List<string>();
        if (units > 0) warnings.Add($"'{source}' was made with {units} control unit(s); PNGs do not store control images, so pass them again");
        // A1111 records SDXL's refiner as "Refiner: NAME [hash], Refiner switch at: 0.8"; ControlHost runs the base alone.
        if (p.TryGetValue("Refiner", out var refiner))
            warnings.Add($"'{source}' was refined with '{refiner}' (switch at {p.GetValueOrDefault("Refiner switch at") ?? "?"}); the SDXL refiner is not supported, so this repeats the base model's pass alone");
        return (job, warnings);
    }

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
