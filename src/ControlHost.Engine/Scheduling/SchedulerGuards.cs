namespace ControlHost.Engine.Scheduling;

internal static class SchedulerGuards
{
    public static void CheckSteps(int steps, NoiseSchedule schedule)
    {
        if (steps < 1 || steps > schedule.TrainTimesteps)
            throw new ArgumentOutOfRangeException(nameof(steps), $"steps must be 1..{schedule.TrainTimesteps}, got {steps}");
    }
}
