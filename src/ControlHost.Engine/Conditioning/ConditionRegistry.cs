using ControlHost.Abstractions;

namespace ControlHost.Engine.Conditioning;

/// <summary>The condition types the host knows, by id and alias (case-insensitive).</summary>
public sealed class ConditionRegistry : IPluginRegistry
{
    private readonly List<IConditionType> _types = [];
    private readonly Dictionary<string, IConditionType> _byName = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<IConditionType> Types => _types;

    /// <exception cref="ArgumentException">The id or an alias is taken.</exception>
    public void AddConditionType(IConditionType conditionType)
    {
        ArgumentNullException.ThrowIfNull(conditionType);
        var names = conditionType.Aliases.Prepend(conditionType.Id).Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        foreach (var name in names)
            if (_byName.TryGetValue(name, out var other))
                throw new ArgumentException($"condition name '{name}' of '{conditionType.Id}' is already used by '{other.Id}'");
        _types.Add(conditionType);
        foreach (var name in names) _byName[name] = conditionType;
    }

    public IConditionType? Find(string name) => _byName.GetValueOrDefault(name);

    /// <exception cref="ArgumentException">Unknown name; the message lists the known ids.</exception>
    public IConditionType Get(string name) => Find(name)
        ?? throw new ArgumentException($"unknown condition '{name}' (known: {string.Join(", ", _types.Select(t => t.Id).DefaultIfEmpty("none"))})");
}
