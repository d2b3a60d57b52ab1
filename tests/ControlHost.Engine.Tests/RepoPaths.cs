using ControlHost.Engine.Models;

namespace ControlHost.Engine.Tests;

/// <summary>Locations in the repository the tests read (models, fixtures, the shared CLIP tables).</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Models => Path.Combine(Root, "models");
    public static string TinySd => Path.Combine(Models, ModelCatalog.DefaultModelName);
    public static string Fixtures => Path.Combine(Root, "tests", "fixtures");

    /// <summary>The CLIP tokenizer tables: the embedded model's copy, else ../shared/clip-tokenizer.</summary>
    public static string TokenizerDir
    {
        get
        {
            var own = Path.Combine(TinySd, "tokenizer");
            return File.Exists(Path.Combine(own, "vocab.json")) ? own : Path.Combine(Root, "..", "shared", "clip-tokenizer");
        }
    }

    private static string FindRoot()
    {
        return ProgramFolders.FindAbove(dir => File.Exists(Path.Combine(dir, "ControlHost.sln"))) ??
            throw new InvalidOperationException("repository root (ControlHost.sln) not found above " + AppContext.BaseDirectory);
    }
}
