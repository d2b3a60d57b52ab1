using ControlHost.Application.Sources;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Units;

/// <summary>A control unit as a caller asks for it (the sd-webui-controlnet unit fields).</summary>
public sealed record UnitSpec
{
    /// <summary>Condition id or alias ("canny", or a module name).</summary>
    public required string Condition { get; init; }

    /// <summary>The user's image (preprocessed into a hint, or the hint itself when <see cref="Preprocess"/> is false),
    /// or OpenPose JSON for pose.</summary>
    public required ImageSource Image { get; init; }

    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
    public bool Enabled { get; init; } = true;
    public float Weight { get; init; } = 1f;
    public double Start { get; init; }
    public double End { get; init; } = 1.0;
    public ControlMode Mode { get; init; } = ControlMode.Balanced;

    /// <summary>A ControlNet or adapter by name (or folder, where the path policy allows); null picks one for the condition.</summary>
    public string? Model { get; init; }

    public bool Preprocess { get; init; } = true;

    /// <summary>A region mask image (white = full effect), fitted to the generation size like the control image.</summary>
    public ImageSource? Mask { get; init; }
    public ResizeMode Resize { get; init; } = ResizeMode.CropAndResize;

    /// <summary>
    /// sd-webui-controlnet's processor resolution: the short side the preprocessor works at, the hint then fitted to
    /// the generation size with <see cref="Resize"/>. 0 (the default) is pixel perfect: the image is fitted to the
    /// generation size first and preprocessed there, so the hint maps one to one.
    /// </summary>
    public int ProcessorResolution { get; init; }

    /// <summary>With the hires fix: the passes this unit takes part in (the extension's hr_option).</summary>
    public Generation.HiresPass Pass { get; init; } = Generation.HiresPass.Both;

    /// <summary>sd-webui-controlnet's save_detected_map: return the hint this unit's preprocessor made with the result.</summary>
    public bool ReturnMap { get; init; } = true;

    /// <summary>For a union ControlNet: the control type to ask it for (the extension's union_control_type, e.g.
    /// "Hard Edge"); null: the one the condition maps to.</summary>
    public string? UnionType { get; init; }

    /// <summary>The first problem with the unit's own numbers, or null.</summary>
    public string? Validate()
    {
        if (!float.IsFinite(Weight) || Weight is < 0 or > 2) return $"weight {Weight} must be 0..2";
        if (!double.IsFinite(Start) || !double.IsFinite(End) || Start < 0 || End > 1 || Start > End)
            return $"start {Start} and end {End} must satisfy 0 <= start <= end <= 1";
        if (ProcessorResolution is < 0 or > 4096) return $"processor resolution {ProcessorResolution} must be 0 (pixel perfect) or 1..4096";
        return null;
    }
}
