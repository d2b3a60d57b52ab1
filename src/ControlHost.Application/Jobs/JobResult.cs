namespace ControlHost.Application.Jobs;

/// <summary>One image a job made: the PNG (with A1111's parameters and the job's own record), its seed and infotext.</summary>
public sealed record ResultImage(ImageRef Png, long Seed, string Infotext);

/// <summary>
/// What a job produced, as data: the same whether it ran here or on a worker, and formatted into each caller's answer
/// (A1111's images and info, the CLI's files, the job API's JSON) without reading anything back from the infotext.
/// </summary>
public sealed record JobResult
{
    public string Operation { get; init; } = "";

    /// <summary>The job with every value as it ran: the seed drawn for -1, the policy's size, steps and sampler, the model.</summary>
    public JobDocument Parameters { get; init; } = new();

    public List<ResultImage> Images { get; init; } = [];

    /// <summary>The hints preprocessed units gave their branches (generate), or the detected map (detect).</summary>
    public List<ImageRef> DetectedMaps { get; init; } = [];
    public List<string> Warnings { get; init; } = [];
    public string? Model { get; init; }

    /// <summary>Detect's extras: a global condition's vector, the pose's OpenPose JSON, a note.</summary>
    public float[]? Vector { get; init; }
    public string? Json { get; init; }
    public string? Note { get; init; }

    public double LoadSeconds { get; init; }
    public double TotalSeconds { get; init; }

    /// <summary>Every image by value, or every image by hash: <paramref name="map"/> on each.</summary>
    public JobResult MapImages(Func<ImageRef, ImageRef> map) => this with
    {
        Images = Images.Select(i => i with { Png = map(i.Png) }).ToList(), DetectedMaps = DetectedMaps.Select(map).ToList(),
    };

    /// <summary>Every image this result names.</summary>
    public IEnumerable<ImageRef> AllImages => Images.Select(i => i.Png).Concat(DetectedMaps);
}
