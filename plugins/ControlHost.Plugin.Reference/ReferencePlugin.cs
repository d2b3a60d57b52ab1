using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>The object-image condition: a picture of the object, cut out, for the reference adapter (adapter.json "reference")</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class ReferencePlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(ObjectReference.Module, "reference", ConditionKind.Global));
    }
}
