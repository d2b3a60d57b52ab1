namespace ControlHost.Engine.Scheduling;

/// <summary>A1111 sampler names -> schedulers.</summary>
public static class Samplers
{
    private static readonly Dictionary<string, Func<NoiseSchedule, IScheduler>> Factories = new(StringComparer.OrdinalIgnoreCase)
    {
        ["DDIM"] = s => new DdimScheduler(s),
        ["Euler"] = s => new EulerScheduler(s),
        ["Euler a"] = s => new EulerAncestralScheduler(s),
        ["DPM++ 2M"] = s => new DpmPlusPlus2MScheduler(s, karras: false),
        ["DPM++ 2M Karras"] = s => new DpmPlusPlus2MScheduler(s, karras: true),
    };

    // Spellings seen in API requests and other tools.
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["euler_a"] = "Euler a", ["euler_ancestral"] = "Euler a", ["k_euler_a"] = "Euler a", ["euler"] = "Euler",
        ["k_euler"] = "Euler", ["ddim"] = "DDIM", ["dpmpp_2m"] = "DPM++ 2M", ["k_dpmpp_2m"] = "DPM++ 2M",
        ["dpmpp_2m_karras"] = "DPM++ 2M Karras", ["k_dpmpp_2m_karras"] = "DPM++ 2M Karras",
    };

    public static IReadOnlyList<string> Names => Factories.Keys.ToArray();

    /// <summary>The canonical A1111 name of <paramref name="name"/>, or null when it is unknown.</summary>
    public static string? Canonical(string name)
    {
        if (Factories.ContainsKey(name)) return Factories.Keys.First(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
        return Aliases.TryGetValue(name, out var c) ? c : null;
    }

    /// <exception cref="ArgumentException">Unknown sampler; the message lists the known ones.</exception>
    public static IScheduler Create(string name, NoiseSchedule schedule)
    {
        var canonical = Canonical(name)
            ?? throw new ArgumentException($"unknown sampler '{name}' (known: {string.Join(", ", Names)})");
        return Factories[canonical](schedule);
    }
}
