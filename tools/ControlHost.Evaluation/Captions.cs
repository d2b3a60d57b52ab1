namespace ControlHost.Evaluation;

public static class Captions
{
    /// <summary>
    /// "a red star on a blue and green background" -> "a star on a background": colour words dropped, a dangling
    /// "and" before "background" dropped, articles fixed (the same rule as tools/forge/burst.py's strip_colours).
    /// </summary>
    public static string WithoutColours(string caption, IReadOnlySet<string> colours)
    {
        var words = caption.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !colours.Contains(w)).ToList();
        words = words.Where((w, i) => !(w == "and" && i + 1 < words.Count && words[i + 1] == "background")).ToList();
        for (var i = 0; i + 1 < words.Count; i++)
            if (words[i] is "a" or "an")
                words[i] = "aeiou".Contains(words[i + 1][0]) ? "an" : "a";
        return string.Join(' ', words);
    }
}
