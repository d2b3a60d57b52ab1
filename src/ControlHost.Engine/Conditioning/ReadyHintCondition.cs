using ControlHost.Abstractions;

namespace ControlHost.Engine.Conditioning;

/// <summary>
/// A spatial condition with no preprocessor of its own: the user's image is the hint. Stands in for any
/// ControlNet condition the registry has no type for, so every ControlNet folder is usable with preprocess=none.
/// </summary>
public sealed class ReadyHintCondition(string condition) : IConditionType
{
    public string Id => condition;
    public IReadOnlyList<string> Aliases => [];
    public string Description => $"a ready {condition} hint image (no preprocessor)";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => [];
    public string ModelCondition => condition;

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) =>
        ConditionHint.FromImage(input);
}
