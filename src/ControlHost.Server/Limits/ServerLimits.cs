using System.Globalization;
using ControlHost.Application.Sources;

namespace ControlHost.Server;

/// <summary>
/// Everything one request may ask for at most, in one place (a server takes untrusted input): every route reads its
/// bounds from here, each is named in the 422 that refuses a value over it, and each can be changed with
/// <c>--limit name=value</c> (<see cref="Table"/> lists them with their defaults; docs/server-limits.md explains them).
/// </summary>
public sealed record ServerLimits
{
    /// <summary>Width and height of a generation (A1111's sliders stop at 2048).</summary>
    public int MaxSide { get; init; } = 2048;
    public int MaxSteps { get; init; } = 150;

    /// <summary>batch_size, n_iter, and images a detect request may send.</summary>
    public int MaxBatch { get; init; } = 16;

    /// <summary>ControlNet units in one request (and in one placement box).</summary>
    public int MaxUnits { get; init; } = 3;

    /// <summary>Boxes in one placement request.</summary>
    public int MaxBoxes { get; init; } = 16;

    /// <summary>Jobs one client (its user, else its address) may have waiting or running; the next gets 429.</summary>
    public int MaxJobsPerClient { get; init; } = 16;

    public long MaxBodyBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Characters in a prompt or negative prompt. CLIP reads 75 tokens (the encoder truncates the rest), so the
    /// cost of a prompt is its tokenizing, linear in its characters; A1111 users' longest prompts (weights, LoRA tags)
    /// stay well under this, and a 63 MB prompt took 80 s and 6.4 GB before the limit.
    /// </summary>
    public int MaxPromptChars { get; init; } = 16_384;

    /// <summary>Pixels of a decoded input image: 24 Mi (a 6000x4000 photo fits).</summary>
    public long MaxImagePixels { get; init; } = 24L * 1024 * 1024;

    /// <summary>Pixels of any image a step makes (processor resolution, OpenPose canvas): 16 Mi, 4096x4096.</summary>
    public long MaxWorkPixels { get; init; } = 16L * 1024 * 1024;

    /// <summary>Long over short side of any image, given or made: 16:1 (a 1x60000 strip is refused).</summary>
    public double MaxAspect { get; init; } = 16;

    /// <summary>Seconds of CPU work an analysis route (detect, suggest-boxes, render_openpose_json) may take; it is
    /// stopped then, and as soon as its client disconnects.</summary>
    public double AnalysisSeconds { get; init; } = 60;

    /// <summary>The image limits as the application layer takes them.</summary>
    /// <summary>The same bounds as a job document's validation takes them.</summary>
    public Application.Jobs.JobLimits Jobs => new(MaxSide, MaxSteps, MaxBatch * MaxBatch, MaxUnits, MaxPromptChars, MaxBoxes);

    public ImageBudget Images => new() { MaxInputPixels = MaxImagePixels, MaxWorkPixels = MaxWorkPixels, MaxAspect = MaxAspect };

    /// <summary>One limit: its option name, what it bounds, and how to read and set it.</summary>
    public sealed record Limit(string Name, string Help, Func<ServerLimits, double> Get, Func<ServerLimits, double, ServerLimits> Set, double Min, double Max);

    /// <summary>Every limit, by the name <c>--limit name=value</c> takes.</summary>
    public static IReadOnlyList<Limit> Table { get; } =
    [
        new("max-side", "width and height of a generation, pixels", l => l.MaxSide, (l, v) => l with { MaxSide = (int)v }, 64, 16384),
        new("max-steps", "sampling steps", l => l.MaxSteps, (l, v) => l with { MaxSteps = (int)v }, 1, 10000),
        new("max-batch", "batch_size, n_iter, and images in one detect request", l => l.MaxBatch, (l, v) => l with { MaxBatch = (int)v }, 1, 1024),
        new("max-units", "ControlNet units in a request or a placement box", l => l.MaxUnits, (l, v) => l with { MaxUnits = (int)v }, 1, 64),
        new("max-jobs-per-client", "jobs one client (its user, else its address) may have waiting or running", l => l.MaxJobsPerClient, (l, v) => l with { MaxJobsPerClient = (int)v }, 1, 100000),
        new("max-boxes", "boxes in one placement request", l => l.MaxBoxes, (l, v) => l with { MaxBoxes = (int)v }, 1, 1024),
        new("max-body-bytes", "bytes of a request body", l => l.MaxBodyBytes, (l, v) => l with { MaxBodyBytes = (long)v }, 1024, 4L << 30),
        new("max-prompt-chars", "characters in a prompt or negative prompt", l => l.MaxPromptChars, (l, v) => l with { MaxPromptChars = (int)v }, 1, 1 << 30),
        new("max-image-pixels", "pixels of a decoded input image", l => l.MaxImagePixels, (l, v) => l with { MaxImagePixels = (long)v }, 64 * 64, 1L << 32),
        new("max-work-pixels", "pixels of any image a resize step makes (processor resolution, OpenPose canvas)", l => l.MaxWorkPixels, (l, v) => l with { MaxWorkPixels = (long)v }, 64 * 64, 1L << 32),
        new("max-aspect", "long side over short side of any image", l => l.MaxAspect, (l, v) => l with { MaxAspect = v }, 1, 1000),
        new("analysis-seconds", "seconds an analysis route (detect, suggest-boxes, render_openpose_json) may work", l => l.AnalysisSeconds, (l, v) => l with { AnalysisSeconds = v }, 0.001, 3600),
    ];

    /// <summary>Applies "name=value" (a --limit argument).</summary>
    /// <exception cref="FormatException">Unknown name or a value out of range; the message lists the names.</exception>
    public ServerLimits With(string assignment)
    {
        var i = assignment.IndexOf('=');
        var name = i > 0 ? assignment[..i].Trim() : assignment.Trim();
        var limit = Table.FirstOrDefault(l => string.Equals(l.Name, name, StringComparison.OrdinalIgnoreCase))
                    ?? throw new FormatException($"--limit {assignment}: unknown limit '{name}' (known: {string.Join(", ", Table.Select(l => l.Name))})");
        if (i <= 0 || !double.TryParse(assignment[(i + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new FormatException($"--limit {assignment}: expected {limit.Name}=NUMBER");
        if (value < limit.Min || value > limit.Max)
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"--limit {assignment}: {limit.Name} must be {limit.Min}..{limit.Max}"));
        return limit.Set(this, value);
    }
}
