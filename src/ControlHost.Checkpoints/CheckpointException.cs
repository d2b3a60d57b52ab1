namespace ControlHost.Checkpoints;

/// <summary>A model file that cannot be used; the message names the file, what is wrong and, where there is one, the fix.</summary>
public sealed class CheckpointException(string path, string reason)
    : Exception($"{System.IO.Path.GetFileName(path)}: {reason}")
{
    public string FilePath { get; } = path;
    public string Reason { get; } = reason;
}
