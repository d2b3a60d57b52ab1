using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Names;

/// <summary>
/// sd-webui-controlnet's names for control modes and resize modes: the infotext's words, the API's integers and
/// the short spellings the CLI takes, parsed and formatted here only.
/// </summary>
public static class UnitNames
{
    private static string Squash(string value) => value.Trim().ToLowerInvariant().Replace("-", "").Replace("_", "").Replace(" ", "");

    /// <summary>A control mode from "balanced" / "prompt-first" / "control-first", the extension's labels or 0, 1, 2.</summary>
    public static ControlMode? TryParseControlMode(string value) => Squash(value) switch
    {
        "balanced" or "0" => ControlMode.Balanced,
        "promptfirst" or "mypromptismoreimportant" or "1" => ControlMode.PromptFirst,
        "controlfirst" or "controlnetismoreimportant" or "2" => ControlMode.ControlFirst,
        _ => null,
    };

    /// <summary>The extension's label, as the infotext records it.</summary>
    public static string Format(ControlMode mode) => mode switch
    {
        ControlMode.PromptFirst => "My prompt is more important",
        ControlMode.ControlFirst => "ControlNet is more important",
        _ => "Balanced",
    };

    /// <summary>The extension's integer for a control mode.</summary>
    public static int Number(ControlMode mode) => (int)mode;

    public const string ControlModeHelp = "balanced, prompt-first or control-first (or 0, 1, 2)";

    /// <summary>A resize mode from "just-resize" / "crop" / "fill", the extension's labels or 0, 1, 2.</summary>
    public static ResizeMode? TryParseResizeMode(string value) => Squash(value) switch
    {
        "justresize" or "resize" or "0" => ResizeMode.JustResize,
        "crop" or "cropandresize" or "innerfit" or "innerfit(scaletofit)" or "1" => ResizeMode.CropAndResize,
        "fill" or "resizeandfill" or "outerfit" or "envelope(outerfit)" or "2" => ResizeMode.ResizeAndFill,
        _ => null,
    };

    /// <summary>The extension's label, as the infotext records it.</summary>
    public static string Format(ResizeMode mode) => mode switch
    {
        ResizeMode.JustResize => "Just Resize",
        ResizeMode.ResizeAndFill => "Resize and Fill",
        _ => "Crop and Resize",
    };

    public const string ResizeModeHelp = "just-resize, crop or fill (or 0, 1, 2)";
}
