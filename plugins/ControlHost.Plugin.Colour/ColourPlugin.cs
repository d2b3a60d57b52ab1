using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>The Composer colour histogram (180 CIELab colours, smoothed), a global condition fed to the colour adapter. Not "color": sd-webui-controlnet uses that name for the T2I colour grid (the colour_grid plugin)</summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class ColourPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(ColourHistogram.Module, "colour", ConditionKind.Global));
    }
}
