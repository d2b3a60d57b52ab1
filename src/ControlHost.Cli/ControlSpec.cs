using System.Globalization;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Cli;

/// <summary>
/// One --control value: TYPE=IMAGE[,weight=W,start=S,end=E,mode=M,model=NAME,resize=R,mask=IMAGE,preprocess=none,
/// resolution=N,OPTION=V...]. resolution (processor_res) is the preprocessor's short side; 0 = pixel perfect.
/// Keys other than the unit fields are the condition type's own options.
/// </summary>
public sealed record ControlSpec(string Condition, string ImagePath, float Weight, double Start, double End, ControlMode Mode,
    string? Model, ResizeMode Resize, bool Preprocess, IReadOnlyDictionary<string, string> Options, string? MaskPath = null,
    int ProcessorResolution = 0, Application.Generation.HiresPass Pass = Application.Generation.HiresPass.Both)
{
    /// <exception cref="UserError">The text does not follow the form; the message says what is wrong.</exception>
    public static ControlSpec Parse(string text)
    {
        var parts = text.Split(',');
        var head = parts[0].Split('=', 2);
        if (head.Length != 2 || head[0].Trim().Length == 0 || head[1].Trim().Length == 0)
            throw new UserError($"--control '{text}': expected TYPE=IMAGE[,weight=W,start=S,end=E,...]");
        float weight = 1f;
        double start = 0, end = 1;
        var mode = ControlMode.Balanced;
        string? model = null;
        var resize = ResizeMode.CropAndResize;
        var preprocess = true;
        string? mask = null;
        var resolution = 0;
        var pass = Application.Generation.HiresPass.Both;
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in parts.Skip(1))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2) throw new UserError($"--control '{text}': '{part}' is not key=value");
            var (key, value) = (kv[0].Trim().ToLowerInvariant(), kv[1].Trim());
            switch (key)
            {
                case "weight": weight = (float)Number(text, key, value); break;
                case "start" or "guidance_start": start = Number(text, key, value); break;
                case "end" or "guidance_end": end = Number(text, key, value); break;
                case "mode" or "control_mode": mode = ParseMode(text, value); break;
                case "model": model = value; break;
                case "mask" or "effective_region_mask": mask = value; break;
                case "resize" or "resize_mode": resize = ParseResize(text, value); break;
                case "resolution" or "processor_res":
                    var r = Number(text, key, value);
                    if (r != Math.Floor(r)) throw new UserError($"--control '{text}': {key}={value} is not a whole number");
                    resolution = (int)Math.Clamp(r, -1, 100000);
                    break;
                case "hires" or "hr_option":
                    pass = UnitNames.TryParseHiresPass(value) ?? throw new UserError($"--control '{text}': hires={value} ({UnitNames.HiresPassHelp})");
                    break;
                case "pixel_perfect" when value.Equals("true", StringComparison.OrdinalIgnoreCase): resolution = 0; break;
                case "preprocess": preprocess = value.ToLowerInvariant() switch
                {
                    "none" or "false" or "no" => false,
                    "true" or "yes" or "auto" => true,
                    _ => throw new UserError($"--control '{text}': preprocess={value} (use none to pass a ready hint)"),
                }; break;
                default: options[key] = value; break;
            }
        }
        return new ControlSpec(head[0].Trim(), head[1].Trim(), weight, start, end, mode, model, resize, preprocess, options, mask, resolution, pass);
    }

    private static double Number(string text, string key, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            ? d
            : throw new UserError($"--control '{text}': {key}={value} is not a number");

    private static ControlMode ParseMode(string text, string value) => UnitNames.TryParseControlMode(value)
        ?? throw new UserError($"--control '{text}': mode={value} ({UnitNames.ControlModeHelp})");

    private static ResizeMode ParseResize(string text, string value) => UnitNames.TryParseResizeMode(value)
        ?? throw new UserError($"--control '{text}': resize={value} ({UnitNames.ResizeModeHelp})");

    /// <summary>The unit as the application layer takes it (files named by path: the CLI's path policy allows them).</summary>
    public UnitSpec ToUnit() => new()
    {
        Condition = Condition, Image = ImageSource.FromPath(ImagePath), Options = Options, Weight = Weight, Start = Start, End = End,
        Mode = Mode, Model = Model, Resize = Resize, Preprocess = Preprocess, ProcessorResolution = ProcessorResolution,
        Mask = MaskPath is null ? null : ImageSource.FromPath(MaskPath), Pass = Pass,
    };
}
