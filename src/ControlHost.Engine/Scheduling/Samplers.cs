namespace ControlHost.Engine.Scheduling;

/// <summary>The samplers the engine implements. Their user-facing names (A1111's) live in the application layer.</summary>
public enum SamplerId
{
    Ddim,
    Euler,
    EulerAncestral,
    DpmPlusPlus2M,
    DpmPlusPlus2MKarras,
    UniPc,
    Lcm,
}

/// <summary>Sampler ids -> schedulers.</summary>
public static class Samplers
{
    public static IReadOnlyList<SamplerId> All { get; } = Enum.GetValues<SamplerId>();

    public static IScheduler Create(SamplerId id, NoiseSchedule schedule) => id switch
    {
        SamplerId.Ddim => new DdimScheduler(schedule),
        SamplerId.Euler => new EulerScheduler(schedule),
        SamplerId.EulerAncestral => new EulerAncestralScheduler(schedule),
        SamplerId.DpmPlusPlus2M => new DpmPlusPlus2MScheduler(schedule, karras: false),
        SamplerId.DpmPlusPlus2MKarras => new DpmPlusPlus2MScheduler(schedule, karras: true),
        SamplerId.UniPc => new UniPcScheduler(schedule),
        SamplerId.Lcm => new LcmScheduler(schedule),
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "not a sampler the engine has"),
    };
}
