using ControlHost.Checkpoints.Layouts;
using ControlHost.Checkpoints.Safetensors;

namespace ControlHost.Checkpoints.Import;

/// <summary>
/// A base model's weights under the original names, from a single-file checkpoint or a diffusers folder, with the files
/// kept open (memory-mapped) until disposed.
/// </summary>
public sealed class CheckpointWeights : IDisposable
{
    private readonly IDisposable _owner;

    private CheckpointWeights(IDisposable owner, SafetensorsWeights weights)
    {
        _owner = owner;
        Weights = weights;
        TextPrefix = weights.Has(CheckpointImporter.TextPrefixNew + "embeddings.token_embedding.weight")
            ? CheckpointImporter.TextPrefixNew : CheckpointImporter.TextPrefixOld;
    }

    public SafetensorsWeights Weights { get; }

    /// <summary>Where the text encoder's weights sit (text_model. was added by later transformers versions).</summary>
    public string TextPrefix { get; }

    /// <exception cref="CheckpointException">Not an SD 1.x checkpoint file or diffusers folder.</exception>
    public static CheckpointWeights Open(string path)
    {
        if (Directory.Exists(path))
        {
            var folder = DiffusersFolder.Open(path);
            return new CheckpointWeights(folder, folder.Weights);
        }
        var file = SafetensorsFile.Open(path);
        try
        {
            var recognised = FileLayout.Recognise(file);
            if (recognised.Kind != FileKind.Checkpoint) throw new CheckpointException(path, $"is an {recognised.Describe()}, not a checkpoint");
            FileLayout.RequireSd1(recognised, path);
            return new CheckpointWeights(file, SafetensorsWeights.Of(file));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => _owner.Dispose();
}
