using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;
using ControlHost.Preprocessors;

namespace ControlHost.Application.Detection;

/// <summary>One name users can give <c>detect</c> (and, where <paramref name="ModelCondition"/> is set, a unit).</summary>
/// <param name="Options">Every option it takes, the shared processor resolution included where it applies.</param>
/// <param name="ModelCondition">The condition of the ControlNet or adapter a unit of it binds to; null for a
/// module no condition type wraps (a mask, a filter), which only <c>detect</c> runs.</param>
/// <param name="Kind">Spatial or global, for a condition type.</param>
public sealed record ModuleInfo(string Name, IReadOnlyList<string> Aliases, string Description, IReadOnlyList<OptionSpec> Options,
    string? ModelCondition, ConditionKind? Kind);

/// <summary>
/// Every module name in the order <see cref="Detector"/> resolves them: the condition types, then the built-in
/// modules none of them wraps, then mask_alpha. The CLI's <c>modules</c> and the API's module list both read it.
/// </summary>
public static class ModuleDirectory
{
    public static IReadOnlyList<ModuleInfo> List(ConditionRegistry registry)
    {
        var list = new List<ModuleInfo>();
        foreach (var type in registry.Types.OrderBy(t => t.Id, StringComparer.Ordinal))
        {
            // detect applies the processor resolution to every condition type, as the module registry does.
            list.Add(new ModuleInfo(type.Id, type.Aliases, type.Description, [.. type.Options, PreprocessorRegistry.ResolutionOption],
                type.ModelCondition, type.Kind));
        }
        var taken = new HashSet<string>(list.SelectMany(m => m.Aliases.Append(m.Name)), StringComparer.OrdinalIgnoreCase);
        foreach (var pre in PreprocessorRegistry.All)
        {
            // A name a condition type answers to resolves to it, so a module a condition wraps is not listed twice.
            if (taken.Contains(pre.Name)) continue;
            var aliases = pre.Aliases.Where(a => !taken.Contains(a) && !string.Equals(a, pre.Name, StringComparison.OrdinalIgnoreCase)).ToList();
            list.Add(new ModuleInfo(pre.Name, aliases, pre.Description, PreprocessorRegistry.OptionsOf(pre), null, null));
        }
        list.Add(new ModuleInfo("mask_alpha", ["alpha_mask"],
            "mask from transparency: alpha below 128 is the region to generate (PNG with alpha)", Masks.AdjustOptions, null, null));
        return list;
    }
}
