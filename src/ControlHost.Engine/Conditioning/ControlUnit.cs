using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Conditioning;

/// <summary>How a unit's residuals are balanced against the prompt (sd-webui-controlnet's control modes).</summary>
public enum ControlMode
{
    /// <summary>Residuals x weight on both halves of the guidance batch.</summary>
    Balanced,
    /// <summary>Soft injection: deeper residuals kept, shallower ones faded (weight x 0.825^(12-i) on SD's 13).</summary>
    PromptFirst,
    /// <summary>Soft injection on the conditional half only; the unconditional half gets none.</summary>
    ControlFirst,
}

/// <summary>
/// One control unit as the engine runs it: a branch plus the fields the engine owns (weight, window, mode, mask).
/// </summary>
public sealed class ControlUnit
{
    public required IControlBranch Branch { get; init; }
    public float Weight { get; init; } = 1f;

    /// <summary>Fraction of the schedule where the unit starts (inclusive).</summary>
    public double Start { get; init; }

    /// <summary>Fraction of the schedule where the unit stops (exclusive).</summary>
    public double End { get; init; } = 1.0;

    public ControlMode Mode { get; init; } = ControlMode.Balanced;

    /// <summary>
    /// sd-webui-controlnet's effective region mask at the generation size (grey, 1 = full effect), or null for
    /// everywhere. The engine resizes it to each residual's resolution and multiplies the residuals by it.
    /// </summary>
    public RegionMask? Mask { get; init; }

    /// <summary>The tile colour fix the unit applies to the model's estimate in its window, or null.</summary>
    public ColourFix? ColourFix { get; init; }

    /// <summary>What the unit was made from, for messages and the application's records: module, model, options.</summary>
    public required string Module { get; init; }
    public required string ModelName { get; init; }
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();
    public ResizeMode Resize { get; init; } = ResizeMode.CropAndResize;

    /// <summary>The short side the preprocessor worked at, and whether that was the generation's (pixel perfect).</summary>
    public int ProcessorResolution { get; init; }
    public bool PixelPerfect { get; init; } = true;

    /// <summary>
    /// The preprocessor's result as the branch received it (the hint fitted to the generation, or a picture of a
    /// vector), when the caller asked to see it (sd-webui-controlnet's detected map); the engine does not read it.
    /// </summary>
    public RgbImage? DetectedMap { get; init; }

    /// <summary>
    /// Whether the unit runs at step <paramref name="step"/> of <paramref name="steps"/>: weight non-zero and
    /// start &lt;= step/steps &lt; end, so a window of half the schedule runs exactly half the steps.
    /// </summary>
    public bool IsActive(int step, int steps)
    {
        if (Weight == 0f) return false;
        var at = (double)step / steps;
        return at >= Start && at < End;
    }
}
