namespace ControlHost.Engine.Tests;

/// <summary>Model folders assembled under a temporary root (float16 and SD 1.5-shaped variants of the fixtures).</summary>
internal static class TestFolders
{
    /// <summary>Copies a folder tree, creating the target.</summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }
}
