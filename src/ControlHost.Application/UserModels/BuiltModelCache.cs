using System.Collections.Concurrent;
using System.Security.Cryptography;
using ControlHost.Checkpoints;
using ControlHost.Checkpoints.Import;
using ControlHost.Engine.Models;

namespace ControlHost.Application.UserModels;

/// <summary>
/// The folders built from users' .safetensors files, kept under the cache folder and keyed by the file's SHA-256 and
/// the builder's version: <c>CACHE/&lt;hash16&gt;-b&lt;version&gt;/&lt;file stem&gt;/</c>, so a model keeps its file's name and
/// a second load is a look-up. The hash of a file is remembered by path, size and modification time.
/// A build is staged and moved into place whole (see <see cref="CheckpointImporter"/>), so a failed or interrupted
/// build leaves nothing that a later load would take for a finished one.
/// </summary>
public sealed class BuiltModelCache(string root, string tokenizerDir) : IUserFileBuilder
{
    private static readonly ConcurrentDictionary<string, object> Locks = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<(string, long, DateTime), string> Hashes = new();
    private static readonly ConcurrentDictionary<(string, long, DateTime), string?> Families = new();
    private readonly ConcurrentDictionary<string, string> _sources = new(StringComparer.Ordinal);

    public string Root { get; } = root;

    /// <summary>CLIP's tokenizer tables copied into every base model built.</summary>
    public string TokenizerDir { get; } = tokenizerDir;

    /// <summary>$CONTROLHOST_CACHE, else ~/.cache/controlhost/built.</summary>
    public static string DefaultRoot =>
        Environment.GetEnvironmentVariable("CONTROLHOST_CACHE") is { Length: > 0 } env ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "controlhost", "built");

    public string BuildBaseModel(string file) => Build(file);

    public string BuildControlNet(string file) => Build(file);

    public string ConditionOf(string file) => ControlNetNames.ConditionOf(Path.GetFileNameWithoutExtension(file));

    /// <summary>The file's family from its header, remembered like its hash by path, size and modification time
    /// (model lists and unit resolution ask for it on every request).</summary>
    public string? FamilyOf(string file)
    {
        try
        {
            var info = Checkpoints.Safetensors.SafetensorsFile.Resolve(file);
            return Families.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ =>
            {
                using var st = Checkpoints.Safetensors.SafetensorsFile.Open(file);
                return Checkpoints.Layouts.RecognisedFile.FamilyId(Checkpoints.Layouts.FileLayout.Recognise(st).Family);
            });
        }
        catch (Exception e) when (e is CheckpointException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Where a file's folder is (whether or not it is built yet).</summary>
    public string FolderOf(string file) =>
        Path.Combine(Root, $"{Sha256(file)[..16]}-b{BuilderVersion.Number}", Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(file)));

    /// <summary>The .safetensors file a folder was built from in this process, or null (a plain ONNX folder).</summary>
    public string? SourceOf(string folder) => _sources.TryGetValue(Path.GetFullPath(folder), out var file) ? file : null;

    /// <summary>Whether the file's folder is built already.</summary>
    public bool IsBuilt(string file) => Directory.Exists(FolderOf(file));

    private string Build(string file)
    {
        try
        {
            var folder = FolderOf(file);
            lock (Locks.GetOrAdd(folder, _ => new object()))
            {
                if (!Directory.Exists(folder)) CheckpointImporter.Import(file, folder, TokenizerDir, predictsVelocity: VelocityProbe.PredictsVelocity);
                _sources[Path.GetFullPath(folder)] = Path.GetFullPath(file);
                return folder;
            }
        }
        catch (CheckpointException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    /// <summary>
    /// The SHA-256 of a file (hex), remembered for its path, size and modification time; of a diffusers folder, the
    /// SHA-256 of its weight files' hashes in order.
    /// </summary>
    public static string Sha256(string file)
    {
        if (Directory.Exists(file))
        {
            var parts = Directory.EnumerateFiles(file, "*.safetensors", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                .Select(f => $"{Path.GetRelativePath(file, f)}:{Sha256(f)}");
            return Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", parts))));
        }
        if (!File.Exists(file)) throw new InvalidDataException($"'{Path.GetFileName(file)}' does not exist");
        var info = Checkpoints.Safetensors.SafetensorsFile.Resolve(file);
        return Hashes.GetOrAdd((info.FullName, info.Length, info.LastWriteTimeUtc), _ =>
        {
            using var stream = new FileStream(info.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        });
    }
}
