using System.Globalization;
using ControlHost.Application.Jobs;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;

namespace ControlHost.Cli;

/// <summary>
/// One --control value: TYPE=IMAGE[,weight=W,start=S,end=E,mode=M,model=NAME,resize=R,mask=IMAGE,preprocess=none,
/// resolution=N,hires=PASS,union_type=T,return_map=false,OPTION=V...], a short syntax for the job document's unit
/// (<see cref="UnitDocument"/>): its keys are the document's names (or the extension's), checked by the document's own
/// validation. Keys other than the unit fields are the condition type's own options. The images are files.
/// </summary>
public sealed record ControlSpec(UnitDocument Unit, string ImagePath, string? MaskPath)
{
    public string Condition => Unit.Condition;
    public float Weight => (float)Unit.Weight;
    public int ProcessorResolution => Unit.ProcessorResolution;
    public IReadOnlyDictionary<string, string> Options => Unit.Options ?? [];

    /// <exception cref="UserError">The text does not follow the form; the message says what is wrong.</exception>
    public static ControlSpec Parse(string text)
    {
        var parts = text.Split(',');
        var head = parts[0].Split('=', 2);
        if (head.Length != 2 || head[0].Trim().Length == 0 || head[1].Trim().Length == 0)
            throw new UserError($"--control '{text}': expected TYPE=IMAGE[,weight=W,start=S,end=E,...]");
        var unit = new UnitDocument { Condition = head[0].Trim() };
        string? mask = null;
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in parts.Skip(1))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2) throw new UserError($"--control '{text}': '{part}' is not key=value");
            var (key, value) = (kv[0].Trim().ToLowerInvariant(), kv[1].Trim());
            if (key is "mask" or "effective_region_mask")
            {
                mask = value;
                continue;
            }
            // A unit field sets the document; any other key is the condition type's own option.
            UnitDocument? field = key switch
            {
                "weight" => unit with { Weight = Number(text, key, value) },
                "start" or "guidance_start" => unit with { Start = Number(text, key, value) },
                "end" or "guidance_end" => unit with { End = Number(text, key, value) },
                "mode" or "control_mode" => unit with { Mode = value },
                "model" => unit with { Model = value },
                "resize" or "resize_mode" => unit with { Resize = value },
                "resolution" or "processor_res" or "processor_resolution" => unit with { ProcessorResolution = Whole(text, key, value) },
                "hires" or "hr_option" or "hires_pass" => unit with { HiresPass = value },
                "union_type" or "union_control_type" => unit with { UnionType = value },
                "return_map" or "save_detected_map" => unit with { ReturnMap = Bool(text, key, value) },
                "pixel_perfect" => value.Equals("true", StringComparison.OrdinalIgnoreCase) ? unit with { ProcessorResolution = 0 } : unit,
                "preprocess" => unit with
                {
                    Preprocess = value.ToLowerInvariant() switch
                    {
                        "none" or "false" or "no" => false,
                        "true" or "yes" or "auto" => true,
                        _ => throw new UserError($"--control '{text}': preprocess={value} (use none to pass a ready hint)"),
                    },
                },
                _ => null,
            };
            if (field is null) options[key] = value;
            else unit = field;
        }
        unit = unit with { Options = options.Count == 0 ? null : options };
        // The document's validation, less the images (files here, read when the job is made).
        var errors = new JobErrors();
        unit.Validate(errors);
        var problems = errors.All.Where(e => e.Path[^1] is not ("image" or "mask")).Select(e => $"{e.Path[^1]}: {e.Message}").ToList();
        if (problems.Count > 0) throw new UserError($"--control '{text}': {string.Join("; ", problems)}");
        return new ControlSpec(unit, head[1].Trim(), mask);
    }

    private static double Number(string text, string key, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw new UserError($"--control '{text}': {key}={value} is not a number");

    private static int Whole(string text, string key, string value)
    {
        var r = Number(text, key, value);
        if (r != Math.Floor(r)) throw new UserError($"--control '{text}': {key}={value} is not a whole number");
        return (int)Math.Clamp(r, -1, 100000);
    }

    private static bool Bool(string text, string key, string value) => value.ToLowerInvariant() switch
    {
        "true" or "yes" or "1" => true,
        "false" or "no" or "0" => false,
        _ => throw new UserError($"--control '{text}': {key}={value} (true or false)"),
    };

    /// <summary>The unit as the application layer takes it (files named by path: the CLI's path policy allows them).</summary>
    public UnitSpec ToUnit() => Unit.ToSpec(ImageSource.FromPath(ImagePath), MaskPath is null ? null : ImageSource.FromPath(MaskPath));
}
