using System.Globalization;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Cli.Commands;

/// <summary>generate --from FILE.png: the base parameters of an earlier generation, read from its infotext.</summary>
internal static class FromPng
{
    public static (GenerationRequest Request, string? Model) Apply(string path, GenerationRequest request, bool promptGiven, bool negativeGiven,
        bool sizeGiven, bool stepsGiven, bool cfgGiven, bool samplerGiven, bool seedGiven, bool strengthGiven, int controlsGiven)
    {
        var text = PngParameters.Read(path) ?? throw new UserError($"--from: '{path}' has no 'parameters' text chunk");
        var (prompt, negative, p) = Infotext.Parse(text);
        int Int(string key) => int.TryParse(p[key], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
            ? v : throw new UserError($"--from: '{path}': {key} '{p[key]}' is not a whole number");
        double Dbl(string key) => double.TryParse(p[key], NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw new UserError($"--from: '{path}': {key} '{p[key]}' is not a number");
        if (!promptGiven) request = request with { Prompt = prompt };
        if (!negativeGiven) request = request with { NegativePrompt = negative };
        if (!stepsGiven && p.ContainsKey("Steps")) request = request with { Steps = Int("Steps") };
        if (!cfgGiven && p.ContainsKey("CFG scale")) request = request with { CfgScale = Dbl("CFG scale") };
        if (!samplerGiven && p.TryGetValue("Sampler", out var sampler)) request = request with { Sampler = sampler };
        if (!seedGiven && p.ContainsKey("Seed")) request = request with { Seed = long.Parse(p["Seed"], CultureInfo.InvariantCulture) };
        if (!strengthGiven && p.ContainsKey("Denoising strength")) request = request with { Strength = Dbl("Denoising strength") };
        if (!sizeGiven && p.TryGetValue("Size", out var size))
        {
            var wh = size.Split('x');
            if (wh.Length != 2 || !int.TryParse(wh[0], out var w) || !int.TryParse(wh[1], out var h))
                throw new UserError($"--from: '{path}': Size '{size}' is not WxH");
            request = request with { Width = w, Height = h };
        }
        var units = p.Keys.Count(k => k.StartsWith("ControlNet ", StringComparison.Ordinal));
        if (units > 0 && controlsGiven == 0)
            Console.Error.WriteLine($"note: '{path}' was made with {units} control unit(s); PNGs do not store control images, so pass them again with --control");
        return (request, p.GetValueOrDefault("Model"));
    }
}
