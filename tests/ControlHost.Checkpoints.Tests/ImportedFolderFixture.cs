using ControlHost.Checkpoints.Import;

namespace ControlHost.Checkpoints.Tests;

/// <summary>The reduced checkpoint and ControlNet imported once into a temp folder, shared by a test class.</summary>
public sealed class ImportedFolderFixture : IDisposable
{
    public ImportedFolderFixture()
    {
        Root = Fixtures.TempDir("imported");
        Model = CheckpointImporter.Import(Fixtures.Checkpoint, Path.Combine(Root, "small-sd"), Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer"));
        ControlNet = CheckpointImporter.Import(Fixtures.ControlNet, Path.Combine(Root, "small-controlnet"), Path.Combine(Fixtures.Repo, "models", "tiny-sd", "tokenizer"));
    }

    public string Root { get; }
    public ImportResult Model { get; }
    public ImportResult ControlNet { get; }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}
