using ControlHost.Checkpoints.Layouts;

namespace ControlHost.Checkpoints.Import;

/// <summary>What an import wrote: the folder, what the file was recognised as, the bytes of weights and the time.</summary>
public sealed record ImportResult(string Folder, RecognisedFile Recognised, long WeightBytes, TimeSpan Elapsed)
{
    /// <summary>What users should know about how it was read (an SD 2.x checkpoint's prediction type and where it came from).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}
