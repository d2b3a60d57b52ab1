using ControlHost.Abstractions;
using ControlHost.Preprocessors;

namespace ControlHost.Plugin;

/// <summary>The image with a box blacked out (the region to generate; options x, y, width, height, grow, feather, invert) for inpaint ControlNets, as sd-webui-controlnet's inpaint_only feeds them. </summary>
/// <remarks>The condition answers to its module's name and aliases (declared once, in the module).</remarks>
public sealed class InpaintPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new ModuleCondition(Masks.InpaintModule, "inpaint"));
    }
}
