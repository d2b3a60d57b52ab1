namespace ControlHost.Abstractions;

/// <summary>How a condition reaches the UNet.</summary>
public enum ConditionKind
{
    /// <summary>A hint image fed to a ControlNet, which adds residuals to the UNet's skip connections.</summary>
    Spatial,
    /// <summary>A vector fed to an adapter, which appends context tokens to the text embeddings (Composer-style).</summary>
    Global,
}

/// <summary>What preprocessing a user's image produced: a hint image (spatial) or a vector (global).</summary>
public sealed class ConditionHint
{
    private ConditionHint(RgbImage? image, float[]? vector)
    {
        Image = image;
        Vector = vector;
    }

    /// <summary>The hint image, for spatial conditions.</summary>
    public RgbImage? Image { get; }

    /// <summary>The condition vector, for global conditions.</summary>
    public float[]? Vector { get; }

    /// <summary>A JSON document made beside the hint, e.g. OpenPose keypoints (contract 1.2).</summary>
    public string? Json { get; private init; }

    /// <summary>What users should know about how the hint was made, e.g. that a fallback was used (contract 1.2).
    /// The host reports it as a warning of the generation.</summary>
    public string? Note { get; private init; }

    /// <summary>This hint with a JSON document and a note beside it (contract 1.2).</summary>
    public ConditionHint With(string? json = null, string? note = null) => new(Image, Vector) { Json = json, Note = note };

    /// <summary>A spatial hint.</summary>
    public static ConditionHint FromImage(RgbImage image) => new(image ?? throw new ArgumentNullException(nameof(image)), null);

    /// <summary>A global condition vector.</summary>
    public static ConditionHint FromVector(float[] vector) => new(null, vector ?? throw new ArgumentNullException(nameof(vector)));
}

/// <summary>
/// A condition type (canny, pose, colour...): its options, its preprocessor, and the model it uses by default.
/// Plugins register these; the host validates options and runs the branch.
/// </summary>
public interface IConditionType
{
    /// <summary>The id users write, e.g. "canny".</summary>
    string Id { get; }

    /// <summary>Other names that resolve to this type (e.g. sd-webui-controlnet module names).</summary>
    IReadOnlyList<string> Aliases { get; }

    /// <summary>One line for users.</summary>
    string Description { get; }

    /// <summary>Spatial (ControlNet) or global (adapter).</summary>
    ConditionKind Kind { get; }

    /// <summary>The preprocessor's options.</summary>
    IReadOnlyList<OptionSpec> Options { get; }

    /// <summary>The condition name a model folder declares (controlnet.json or adapter.json "condition").</summary>
    string ModelCondition { get; }

    /// <summary>Turns a user's image into the hint. Stateless; may be called from several threads.</summary>
    ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation);
}
