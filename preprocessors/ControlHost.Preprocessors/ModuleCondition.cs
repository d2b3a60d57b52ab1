using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// A spatial condition type made from a preprocessor module: its options, its run, and the model condition it binds
/// to. Plugins that add a condition type for an existing preprocessor are one line with it.
/// </summary>
public sealed class ModuleCondition(IPreprocessor module, string id, IReadOnlyList<string> aliases, string modelCondition) : IConditionType
{
    /// <inheritdoc />
    public string Id => id;
    /// <inheritdoc />
    public IReadOnlyList<string> Aliases => aliases;
    /// <inheritdoc />
    public string Description => module.Description;
    /// <inheritdoc />
    public ConditionKind Kind => ConditionKind.Spatial;
    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => module.Options;
    /// <inheritdoc />
    public string ModelCondition => modelCondition;

    /// <inheritdoc />
    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) =>
        ConditionHint.FromImage(module.Run(input, options).Image);
}
