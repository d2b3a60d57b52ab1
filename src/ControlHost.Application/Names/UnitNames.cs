using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Names;

/// <summary>
/// sd-webui-controlnet's names for control modes and resize modes: the infotext's words, the API's integers and
/// the short spellings the CLI takes, parsed and formatted here only.
/// </summary>
public static class UnitNames
{
    private static readonly NameTable<ControlMode> ControlModes = new(
        (ControlMode.Balanced, "Balanced", ["0"]),
        (ControlMode.PromptFirst, "My prompt is more important", ["prompt-first", "1"]),
        (ControlMode.ControlFirst, "ControlNet is more important", ["control-first", "2"]));

    private static readonly NameTable<ResizeMode> ResizeModes = new(
        (ResizeMode.JustResize, "Just Resize", ["resize", "0"]),
        (ResizeMode.CropAndResize, "Crop and Resize", ["crop", "Inner Fit", "Inner Fit (Scale to Fit)", "1"]),
        (ResizeMode.ResizeAndFill, "Resize and Fill", ["fill", "Outer Fit", "Envelope (Outer Fit)", "2"]));

    /// <summary>A control mode from "balanced" / "prompt-first" / "control-first", the extension's labels or 0, 1, 2.</summary>
    public static ControlMode? TryParseControlMode(string value) => ControlModes.TryParse(value);

    /// <summary>The extension's label, as the infotext records it.</summary>
    public static string Format(ControlMode mode) => ControlModes.Format(mode);

    /// <summary>The extension's integer for a control mode.</summary>
    public static int Number(ControlMode mode) => (int)mode;

    public const string ControlModeHelp = "balanced, prompt-first or control-first (or 0, 1, 2)";

    /// <summary>A resize mode from "just-resize" / "crop" / "fill", the extension's labels or 0, 1, 2.</summary>
    public static ResizeMode? TryParseResizeMode(string value) => ResizeModes.TryParse(value);

    /// <summary>The extension's label, as the infotext records it.</summary>
    public static string Format(ResizeMode mode) => ResizeModes.Format(mode);

    private static readonly NameTable<Generation.HiresPass> HiresPasses = new(
        (Generation.HiresPass.Both, "Both", ["0"]),
        (Generation.HiresPass.LowResOnly, "Low res only", ["low", "1"]),
        (Generation.HiresPass.HighResOnly, "High res only", ["high", "2"]));

    /// <summary>The extension's hr_option: "Both", "Low res only", "High res only" (or both/low/high, 0/1/2).</summary>
    public static Generation.HiresPass? TryParseHiresPass(string value) => HiresPasses.TryParse(value);

    public static string Format(Generation.HiresPass pass) => HiresPasses.Format(pass);

    public const string HiresPassHelp = "Both, Low res only or High res only (or both, low, high)";

    public const string ResizeModeHelp = "just-resize, crop or fill (or 0, 1, 2)";
}
