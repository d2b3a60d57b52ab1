using System.Text.Json;
using System.Text.RegularExpressions;

namespace ControlHost.Plugins;

/// <summary>
/// plugin.json beside a plugin's assembly: {"id", "version", "contract": "MAJOR.MINOR", "assembly", "description"}.
/// </summary>
public sealed partial record PluginManifest(string Id, string Version, Version Contract, string Assembly, string Description, string Folder)
{
    public const string FileName = "plugin.json";

    public string AssemblyPath => Path.Combine(Folder, Assembly);

    /// <exception cref="InvalidDataException">Missing or malformed fields; the message names the file.</exception>
    public static PluginManifest Read(string folder)
    {
        var path = Path.Combine(folder, FileName);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not valid JSON ({e.Message})");
        }
        string Field(string name) =>
            root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
                ? s
                : throw new InvalidDataException($"{path}: \"{name}\" is missing");
        var id = Field("id");
        if (!IdPattern().IsMatch(id)) throw new InvalidDataException($"{path}: id '{id}' may hold only letters, digits, '.', '_' and '-'");
        if (!System.Version.TryParse(Field("contract"), out var contract))
            throw new InvalidDataException($"{path}: contract '{Field("contract")}' is not MAJOR.MINOR");
        var assembly = Field("assembly");
        if (Path.GetFileName(assembly) != assembly) throw new InvalidDataException($"{path}: assembly '{assembly}' must be a file name in the plugin's folder");
        var description = root.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
        return new PluginManifest(id, Field("version"), contract, assembly, description, Path.GetFullPath(folder));
    }

    [GeneratedRegex(@"^[A-Za-z0-9._-]+$")]
    private static partial Regex IdPattern();
}
