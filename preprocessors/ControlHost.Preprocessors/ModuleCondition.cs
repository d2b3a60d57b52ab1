using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// A condition type made from a preprocessor module: its options, its run, and the model condition it binds to.
/// The module is the one place a name is declared: the condition answers to the module's name and aliases, so
/// <c>detect NAME</c>, <c>modules</c> and <c>--control NAME=...</c> mean the same preprocessor. A plugin that adds a
/// condition type for an existing preprocessor is one line with it.
/// </summary>
public sealed class ModuleCondition : IConditionType
{
    private readonly IReadOnlyList<string> _aliases;

    /// <summary>A condition named as its module (contract 1.2): the id is the module's name (or <paramref name="id"/>
    /// where the condition has a name of its own, e.g. "pose" for the openpose module) and the aliases are the
    /// module's.</summary>
    public ModuleCondition(IPreprocessor module, string modelCondition, ConditionKind kind = ConditionKind.Spatial, string? id = null)
    {
        Module = module;
        Id = id ?? module.Name;
        ModelCondition = modelCondition;
        Kind = kind;
        _aliases = [.. new[] { module.Name }.Concat(module.Aliases).Where(a => !string.Equals(a, Id, StringComparison.OrdinalIgnoreCase))
            .Distinct(StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>A condition with its own id and aliases (contract 1.0; kept for plugins built against it).</summary>
    public ModuleCondition(IPreprocessor module, string id, IReadOnlyList<string> aliases, string modelCondition)
    {
        Module = module;
        Id = id;
        ModelCondition = modelCondition;
        Kind = ConditionKind.Spatial;
        _aliases = aliases;
    }

    /// <summary>The preprocessor this condition runs.</summary>
    public IPreprocessor Module { get; }

    /// <inheritdoc />
    public string Id { get; }
    /// <inheritdoc />
    public IReadOnlyList<string> Aliases => _aliases;
    /// <inheritdoc />
    public string Description => Module.Description;
    /// <inheritdoc />
    public ConditionKind Kind { get; }
    /// <inheritdoc />
    public IReadOnlyList<OptionSpec> Options => Module.Options;
    /// <inheritdoc />
    public string ModelCondition { get; }

    /// <summary>Runs the module; a global condition takes its vector. The module's JSON (pose keypoints) and note (a
    /// fallback it used) stay on the hint. A cancelled job does not start or finish a run.</summary>
    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var result = Module.Run(input, options);
        cancellation.ThrowIfCancellationRequested();
        var hint = Kind == ConditionKind.Global
            ? ConditionHint.FromVector(result.Vector ?? throw new InvalidOperationException($"module '{Module.Name}' made no condition vector"))
            : ConditionHint.FromImage(result.Image);
        return hint.With(result.Json, result.Note);
    }
}
