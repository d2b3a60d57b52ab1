namespace ControlHost.Engine.Models;

/// <summary>Finds folders at or above the program's own folder (a repository checkout run from its bin/ folders).</summary>
public static class ProgramFolders
{
    /// <summary>The nearest folder at or above the program's folder for which <paramref name="matches"/> holds, or null.</summary>
    public static string? FindAbove(Func<string, bool> matches)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (matches(dir.FullName)) return dir.FullName;
        return null;
    }
}
