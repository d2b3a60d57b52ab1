using System.Text.Json.Serialization;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Jobs;

/// <summary>
/// A control unit as data: the one form every caller writes and reads (the job document, the placement record, the
/// CLI's --control, the server's units). Modes are written by the names users know ("Balanced", "Crop and Resize",
/// "Both"); every field has the default the extension gives it, so a short unit is a whole one.
/// </summary>
public sealed record UnitDocument
{
    public string Condition { get; init; } = "";
    public ImageRef? Image { get; init; }
    public string? Model { get; init; }
    public double Weight { get; init; } = 1;
    public double Start { get; init; }
    public double End { get; init; } = 1;
    public string Mode { get; init; } = UnitNames.Format(ControlMode.Balanced);
    public string Resize { get; init; } = UnitNames.Format(ResizeMode.CropAndResize);
    public bool Preprocess { get; init; } = true;

    /// <summary>The preprocessor's short side; 0 is pixel perfect.</summary>
    public int ProcessorResolution { get; init; }

    /// <summary>A region mask (white = full effect).</summary>
    public ImageRef? Mask { get; init; }

    public Dictionary<string, string>? Options { get; init; }

    /// <summary>With the hires fix: "Both", "Low res only" or "High res only".</summary>
    public string HiresPass { get; init; } = "Both";
    public bool ReturnMap { get; init; } = true;
    public string? UnionType { get; init; }

    /// <summary>Checks every field, adding each problem under <paramref name="errors"/>.</summary>
    public void Validate(JobErrors errors)
    {
        if (string.IsNullOrWhiteSpace(Condition)) errors.Add("condition", "required: a condition id or module name (see 'controlhost modules')");
        if (Image is null) errors.Add("image", "required: the unit's image (sha256:HEX or base64)");
        errors.Range("weight", Weight, 0, 2);
        errors.Range("start", Start, 0, 1);
        errors.Range("end", End, 0, 1);
        if (double.IsFinite(Start) && double.IsFinite(End) && Start > End) errors.Add("end", $"end {End} is before start {Start}");
        if (UnitNames.TryParseControlMode(Mode) is null) errors.Add("mode", $"'{Mode}': {UnitNames.ControlModeHelp}");
        if (UnitNames.TryParseResizeMode(Resize) is null) errors.Add("resize", $"'{Resize}': {UnitNames.ResizeModeHelp}");
        if (UnitNames.TryParseHiresPass(HiresPass) is null) errors.Add("hires_pass", $"'{HiresPass}': {UnitNames.HiresPassHelp}");
        if (ProcessorResolution is < 0 or > 4096) errors.Add("processor_resolution", $"{ProcessorResolution} must be 0 (pixel perfect) or 1..4096");
    }

    /// <summary>The unit the application layer runs (the document was validated).</summary>
    public UnitSpec ToSpec(JobImages images, string field) =>
        ToSpec(images.Source(Image!, field + ".image"), Mask is null ? null : images.Source(Mask, field + ".mask"));

    /// <summary>The unit with its images from wherever the caller has them (the CLI: files).</summary>
    public UnitSpec ToSpec(Sources.ImageSource image, Sources.ImageSource? mask) => new()
    {
        Condition = Condition, Image = image, Model = Model, Weight = (float)Weight, Start = Start, End = End,
        Mode = UnitNames.TryParseControlMode(Mode)!.Value, Resize = UnitNames.TryParseResizeMode(Resize)!.Value, Preprocess = Preprocess,
        ProcessorResolution = ProcessorResolution, Mask = mask,
        Options = Options is null ? new Dictionary<string, string>() : new Dictionary<string, string>(Options, StringComparer.OrdinalIgnoreCase),
        Pass = UnitNames.TryParseHiresPass(HiresPass)!.Value, ReturnMap = ReturnMap, UnionType = UnionType,
    };

    /// <summary>The document of a unit; its images become references through <paramref name="images"/>.</summary>
    public static UnitDocument From(UnitSpec unit, Func<Sources.ImageSource, string, ImageRef> images, string field) => new()
    {
        Condition = unit.Condition, Image = images(unit.Image, field + ".image"), Model = unit.Model, Weight = unit.Weight, Start = unit.Start,
        End = unit.End, Mode = UnitNames.Format(unit.Mode), Resize = UnitNames.Format(unit.Resize), Preprocess = unit.Preprocess,
        ProcessorResolution = unit.ProcessorResolution, Mask = unit.Mask is null ? null : images(unit.Mask, field + ".mask"),
        Options = unit.Options.Count == 0 ? null : new Dictionary<string, string>(unit.Options), HiresPass = UnitNames.Format(unit.Pass),
        ReturnMap = unit.ReturnMap, UnionType = unit.UnionType,
    };
}
