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

    private CheckpointWeights(IDisposable owner, SafetensorsWeights weights, ModelFamily family)
    {
        _owner = owner;
        Weights = weights;
        Family = family;
        TextPrefix = CheckpointImporter.TextPrefixOf(weights, family);
    }

    public ModelFamily Family { get; }

    /// <summary>The text encoder's token table (its width is the width of the embeddings it takes).</summary>
    public string TokenEmbeddingKey => Family == ModelFamily.Sd2 ? TextPrefix + "token_embedding.weight" : TextPrefix + "embeddings.token_embedding.weight";

    public SafetensorsWeights Weights { get; }

    /// <summary>Where the text encoder's weights sit (text_model. was added by later transformers versions).</summary>
    public string TextPrefix { get; }

    /// <exception cref="CheckpointException">Not an SD 1.x or SD 2.x checkpoint file, or an SD 1.x diffusers folder.</exception>
    public static CheckpointWeights Open(string path)
    {
        if (Directory.Exists(path))
        {
            var folder = DiffusersFolder.Open(path);
            return new CheckpointWeights(folder, folder.Weights, folder.Family);
        }
        var file = SafetensorsFile.Open(path);
        try
        {
            var recognised = FileLayout.Recognise(file);
            if (recognised.Kind != FileKind.Checkpoint) throw new CheckpointException(path, $"is an {recognised.Describe()}, not a checkpoint");
            return new CheckpointWeights(file, SafetensorsWeights.Of(file), recognised.Family);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => _owner.Dispose();
}
