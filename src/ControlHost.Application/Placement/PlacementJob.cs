using ControlHost.Abstractions;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;

namespace ControlHost.Application.Placement;

/// <summary>How a placed object is fitted to the background's colours after generation.</summary>
public enum Harmonization
{
    /// <summary>As generated (the model already saw the context around the box).</summary>
    Off,
    /// <summary>Reinhard's colour statistics transfer in CIELab, measured on the box's border rings.</summary>
    Reinhard,
    /// <summary>Poisson blending (OpenCV's seamlessClone, normal clone) into the background.</summary>
    Poisson,
}

/// <summary>One object to place: its box, its prompt and its units, whose images describe the object alone.</summary>
public sealed record BoxPlacement
{
    public required PixelBox Box { get; init; }

    /// <summary>This box's prompt (null: the job's).</summary>
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }

    /// <summary>Units for the object. A spatial unit's image is its preprocessor's input (or, with preprocessing off,
    /// the hint) for the object alone: the hint is fitted into the box, aspect kept and centred, the rest empty.</summary>
    public IReadOnlyList<UnitSpec> Units { get; init; } = [];
}

/// <summary>
/// Box placement: objects generated inside boxes of a background, fitted to it, every pixel outside the boxes and
/// their feather bands unchanged. Boxes are placed one after another, each seeing the result so far as context.
/// </summary>
public sealed record PlacementJob
{
    public required ImageSource Background { get; init; }
    public required IReadOnlyList<BoxPlacement> Boxes { get; init; }

    /// <summary>The prompt of boxes without their own.</summary>
    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public int? Steps { get; init; }
    public double? CfgScale { get; init; }
    public string? Sampler { get; init; }

    /// <summary>Box k is generated with seed + k; -1 or null picks one.</summary>
    public long? Seed { get; init; }

    /// <summary>The model (null: the default model's inpainting variant when there is one, else the default).</summary>
    public string? Model { get; init; }

    /// <summary>The working canvas (null: the model's native size).</summary>
    public int? Width { get; init; }
    public int? Height { get; init; }

    /// <summary>Context around the box the model sees, in background pixels.</summary>
    public int Padding { get; init; } = DefaultPadding;

    /// <summary>A soft band this many pixels wide outside each box; nothing beyond it changes.</summary>
    public int Feather { get; init; } = DefaultFeather;

    public Harmonization Harmonize { get; init; } = Harmonization.Off;

    /// <summary>What the box starts from (null: original; at strength 1 that is pure noise on the box).</summary>
    public MaskedContent? Content { get; init; }

    /// <summary>Denoising strength inside the box (null: 1, a new object).</summary>
    public double? Strength { get; init; }

    /// <summary>Decode a preview every this many steps (0: none), passed with the progress reports.</summary>
    public int PreviewEvery { get; init; }

    /// <summary>Whether boxes may overlap (a later box then paints over an earlier one).</summary>
    public bool AllowOverlap { get; init; }

    public const int DefaultPadding = 32;
    public const int DefaultFeather = 4;
}

/// <summary>One placed box: its seed and the prompt it was generated with.</summary>
public sealed record PlacedBox(PixelBox Box, string Prompt, uint Seed, IReadOnlyList<string> Warnings);

/// <summary>The composite, each box's record, and the text a PNG carries to repeat it (A1111 infotext of the last
/// box, and the placement job as JSON).</summary>
public sealed record PlacementOutput(RgbImage Image, IReadOnlyList<PlacedBox> Boxes, string Infotext, Jobs.JobDocument Record, TimeSpan Elapsed, string? Model = null);
