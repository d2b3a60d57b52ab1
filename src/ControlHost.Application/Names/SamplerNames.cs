using ControlHost.Engine.Scheduling;

namespace ControlHost.Application.Names;

/// <summary>A1111's sampler names (and the spellings API clients and other tools send) for the engine's samplers.</summary>
public static class SamplerNames
{
    private static readonly (SamplerId Id, string Name)[] Canonical =
    [
        (SamplerId.Ddim, "DDIM"), (SamplerId.Euler, "Euler"), (SamplerId.EulerAncestral, "Euler a"),
        (SamplerId.DpmPlusPlus2M, "DPM++ 2M"), (SamplerId.DpmPlusPlus2MKarras, "DPM++ 2M Karras"),
        (SamplerId.UniPc, "UniPC"), (SamplerId.Lcm, "LCM"),
    ];

    private static readonly Dictionary<string, SamplerId> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["euler_a"] = SamplerId.EulerAncestral, ["euler_ancestral"] = SamplerId.EulerAncestral, ["k_euler_a"] = SamplerId.EulerAncestral,
        ["euler"] = SamplerId.Euler, ["k_euler"] = SamplerId.Euler, ["ddim"] = SamplerId.Ddim,
        ["dpmpp_2m"] = SamplerId.DpmPlusPlus2M, ["k_dpmpp_2m"] = SamplerId.DpmPlusPlus2M,
        ["dpmpp_2m_karras"] = SamplerId.DpmPlusPlus2MKarras, ["k_dpmpp_2m_karras"] = SamplerId.DpmPlusPlus2MKarras,
        ["unipc"] = SamplerId.UniPc, ["uni_pc"] = SamplerId.UniPc, ["k_lcm"] = SamplerId.Lcm,
    };

    /// <summary>A1111's default.</summary>
    public const string Default = "Euler a";

    /// <summary>The A1111 names, in a stable order.</summary>
    public static IReadOnlyList<string> Names { get; } = Canonical.Select(c => c.Name).ToArray();

    /// <summary>The sampler a name means, or null.</summary>
    public static SamplerId? TryParse(string name)
    {
        foreach (var (id, canonical) in Canonical)
            if (string.Equals(canonical, name.Trim(), StringComparison.OrdinalIgnoreCase)) return id;
        return Aliases.TryGetValue(name.Trim(), out var alias) ? alias : null;
    }

    /// <summary>The other spellings that mean the sampler an A1111 name names (A1111's sampler list shows them).</summary>
    public static IReadOnlyList<string> AliasesOf(string name) => TryParse(name) is { } id
        ? Aliases.Where(kv => kv.Value == id).Select(kv => kv.Key).ToList()
        : [];

    /// <summary>A1111 1.9+'s schedule types that ControlHost has: each sampler's own ("Automatic") and Karras sigmas.</summary>
    public static IReadOnlyList<(string Name, string Label)> Schedulers { get; } = [("automatic", "Automatic"), ("karras", "Karras")];

    /// <summary>
    /// A sampler with A1111 1.9+'s separate schedule type ("DPM++ 2M" + "Karras" is "DPM++ 2M Karras"); null when the
    /// combination does not exist here, with the reason.
    /// </summary>
    public static (string? Sampler, string? Problem) WithScheduler(string? sampler, string? scheduler)
    {
        var name = sampler ?? Default;
        if (scheduler is null || scheduler.Trim().Length == 0 || scheduler.Equals("automatic", StringComparison.OrdinalIgnoreCase)) return (sampler, null);
        if (scheduler.Equals("karras", StringComparison.OrdinalIgnoreCase))
            return TryParse(name) is SamplerId.DpmPlusPlus2M or SamplerId.DpmPlusPlus2MKarras
                ? ("DPM++ 2M Karras", null)
                : (null, $"scheduler 'Karras' with sampler '{name}': ControlHost has Karras sigmas for DPM++ 2M only (sampler DPM++ 2M, or scheduler Automatic)");
        return (null, $"scheduler '{scheduler}' is not available (known: {string.Join(", ", Schedulers.Select(s => s.Label))}); each sampler's own schedule is 'Automatic'");
    }

    /// <summary>The A1111 name of a sampler.</summary>
    public static string Format(SamplerId id) => Canonical.First(c => c.Id == id).Name;
}
