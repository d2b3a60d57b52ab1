namespace ControlHost.Application.Names;

/// <summary>
/// A1111's and the extension's names for one enumeration: the label the infotext records, and every spelling a caller
/// may send (the API's integers, the UI's labels, the CLI's short words). Matching ignores case, spaces, '-' and '_'.
/// </summary>
internal sealed class NameTable<T>(params (T Value, string Label, string[] Spellings)[] entries) where T : struct
{
    private static string Squash(string value) => value.Trim().ToLowerInvariant().Replace("-", "").Replace("_", "").Replace(" ", "");

    public T? TryParse(string value)
    {
        var key = Squash(value);
        foreach (var (v, label, spellings) in entries)
            if (Squash(label) == key || spellings.Any(s => Squash(s) == key)) return v;
        return null;
    }

    public string Format(T value) => entries.First(e => EqualityComparer<T>.Default.Equals(e.Value, value)).Label;
}
