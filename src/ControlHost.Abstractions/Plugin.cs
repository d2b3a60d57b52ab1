namespace ControlHost.Abstractions;

/// <summary>The entry point of a plugin assembly: the host creates it and calls <see cref="Register"/> once.</summary>
public interface IControlHostPlugin
{
    /// <summary>Adds this plugin's condition types.</summary>
    void Register(IPluginRegistry registry);
}

/// <summary>Where plugins register what they add.</summary>
public interface IPluginRegistry
{
    /// <summary>Adds a condition type; its id and aliases must not clash with one already registered.</summary>
    void AddConditionType(IConditionType conditionType);
}
