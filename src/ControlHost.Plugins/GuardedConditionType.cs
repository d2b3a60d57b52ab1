using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;

namespace ControlHost.Plugins;

/// <summary>
/// A plugin's condition type behind a guard: preprocessing runs under a time limit, exceptions become errors naming
/// the plugin, and the hint is checked (an image for spatial types, a non-empty finite vector for global ones).
/// A plugin that hangs leaves its call behind; the host goes on. A type that makes its own branch stays one.
/// </summary>
public class GuardedConditionType(IConditionType inner, string pluginId, TimeSpan timeLimit) : IConditionType
{
    /// <summary>The guard for a type: one that makes its own branch keeps that ability behind the guard.</summary>
    public static GuardedConditionType For(IConditionType inner, string pluginId, TimeSpan timeLimit) =>
        inner is IBranchConditionType branching ? new GuardedBranchConditionType(branching, pluginId, timeLimit) : new GuardedConditionType(inner, pluginId, timeLimit);

    public string PluginId => pluginId;
    public string Id => inner.Id;
    public IReadOnlyList<string> Aliases => inner.Aliases;
    public string Description => inner.Description;
    public ConditionKind Kind => inner.Kind;
    public IReadOnlyList<OptionSpec> Options => inner.Options;
    public string ModelCondition => inner.ModelCondition;

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var task = Task.Run(() => inner.Preprocess(input, options, timeout.Token), CancellationToken.None);
        try
        {
            if (!task.Wait(timeLimit, cancellation))
            {
                timeout.Cancel();
                throw new PluginException(pluginId, $"preprocessing '{Id}' took longer than {timeLimit.TotalSeconds:0.#} s and was abandoned");
            }
        }
        catch (AggregateException e) when (e.InnerException is not null)
        {
            throw new PluginException(pluginId, $"preprocessing '{Id}' failed: {e.InnerException.Message}", e.InnerException);
        }
        var hint = task.Result ?? throw new PluginException(pluginId, $"preprocessing '{Id}' returned nothing");
        if (Kind == ConditionKind.Spatial && hint.Image is null)
            throw new PluginException(pluginId, $"'{Id}' is spatial but returned no hint image");
        if (Kind == ConditionKind.Global && (hint.Vector is not { Length: > 0 } v || v.Any(x => !float.IsFinite(x))))
            throw new PluginException(pluginId, $"'{Id}' is global but returned no finite condition vector");
        return hint;
    }
}

/// <summary>A guarded type that makes its own branch; a failure to make it names the plugin.</summary>
public sealed class GuardedBranchConditionType(IBranchConditionType inner, string pluginId, TimeSpan timeLimit)
    : GuardedConditionType(inner, pluginId, timeLimit), IBranchConditionType
{
    public IControlBranch CreateBranch(BranchContext context)
    {
        IControlBranch? branch;
        try
        {
            branch = inner.CreateBranch(context);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new PluginException(PluginId, $"'{Id}' failed to make its branch: {e.Message}", e);
        }
        return branch is IResidualBranch or IContextBranch or ILatentBranch
            ? branch
            : throw new PluginException(PluginId, $"'{Id}' made a branch that is none of residual, context or latent");
    }
}

/// <summary>A plugin misbehaved; the message names it.</summary>
public sealed class PluginException(string pluginId, string reason, Exception? inner = null)
    : Exception($"plugin '{pluginId}': {reason}", inner)
{
    public string PluginId { get; } = pluginId;
}
