using System.Text.Json;
using System.Text.Json.Serialization;
using ControlHost.Application.Errors;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Placement;

/// <summary>
/// A placement job as JSON, kept in the PNG's "controlhost-placement" text chunk beside A1111's "parameters": the
/// boxes, per-box prompts and units, the transform settings and the seed actually used, so that reading it back
/// (<c>place --from FILE.png</c>) repeats the placement byte for byte, given the same background and control files.
/// </summary>
public static class PlacementRecord
{
    public const string Keyword = "controlhost-placement";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false,
    };

    // Resize, resolution, mask and union type were added later (absent in older records: the defaults they ran with).
    private sealed record UnitDto(string Condition, string? Image, float Weight, double Start, double End, string Mode, bool Preprocess,
        string? Model, Dictionary<string, string>? Options, string? Resize = null, int ProcessorResolution = 0, string? Mask = null,
        string? UnionType = null);

    private sealed record BoxDto(string Box, string? Prompt, string? NegativePrompt, List<UnitDto> Units);

    private sealed record JobDto(int Version, string? Background, string? Prompt, string? NegativePrompt, int? Steps, double? CfgScale,
        string? Sampler, long Seed, string? Model, int? Width, int? Height, int Padding, int Feather, string Harmonize, string? Content,
        double? Strength, bool AllowOverlap, List<BoxDto> Boxes);

    /// <summary>The job with the seed it ran with. Images given in memory (not as files) are recorded as null: a
    /// repeat must give them again.</summary>
    public static string Write(PlacementJob job, string? model, uint seed) => JsonSerializer.Serialize(new JobDto(
        1, job.Background.FilePath, job.Prompt, job.NegativePrompt, job.Steps, job.CfgScale, job.Sampler, seed, model ?? job.Model,
        job.Width, job.Height, job.Padding, job.Feather, job.Harmonize.ToString().ToLowerInvariant(),
        job.Content is { } c ? InpaintNames.Format(c) : null, job.Strength, job.AllowOverlap,
        job.Boxes.Select(b => new BoxDto(b.Box.ToString(), b.Prompt, b.NegativePrompt, b.Units.Select(u => new UnitDto(
            u.Condition, u.Image.FilePath, u.Weight, u.Start, u.End, UnitNames.Format(u.Mode), u.Preprocess, u.Model,
            u.Options.Count == 0 ? null : new Dictionary<string, string>(u.Options), UnitNames.Format(u.Resize), u.ProcessorResolution,
            u.Mask?.FilePath, u.UnionType)).ToList())).ToList()), Json);

    /// <summary>The recorded job.</summary>
    /// <exception cref="BadInputException">Not a placement record, or one that names no background file.</exception>
    public static PlacementJob Read(string text, string source)
    {
        JobDto dto;
        try
        {
            dto = JsonSerializer.Deserialize<JobDto>(text, Json) ?? throw new JsonException("empty");
        }
        catch (JsonException e)
        {
            throw new BadInputException("from", $"{source}: the placement record is not valid ({e.Message})", e);
        }
        if (dto.Version != 1) throw new BadInputException("from", $"{source}: placement record version {dto.Version}; this host reads version 1");
        if (dto.Background is null) throw new BadInputException("from", $"{source}: the background was given in memory, not as a file; pass it again");
        return new PlacementJob
        {
            Background = ImageSource.FromPath(dto.Background), Prompt = dto.Prompt, NegativePrompt = dto.NegativePrompt, Steps = dto.Steps,
            CfgScale = dto.CfgScale, Sampler = dto.Sampler, Seed = dto.Seed, Model = dto.Model, Width = dto.Width, Height = dto.Height,
            Padding = dto.Padding, Feather = dto.Feather, AllowOverlap = dto.AllowOverlap, Strength = dto.Strength,
            Harmonize = Enum.TryParse<Harmonization>(dto.Harmonize, ignoreCase: true, out var h) ? h : throw new BadInputException("from", $"{source}: harmonize '{dto.Harmonize}'"),
            Content = dto.Content is null ? null : InpaintNames.TryParseContent(dto.Content),
            Boxes = dto.Boxes.Select(b => new BoxPlacement
            {
                Box = PixelBox.Parse(b.Box), Prompt = b.Prompt, NegativePrompt = b.NegativePrompt,
                Units = b.Units.Select(u => new UnitSpec
                {
                    Condition = u.Condition,
                    Image = ImageSource.FromPath(u.Image ?? throw new BadInputException("from", $"{source}: a '{u.Condition}' unit's image was given in memory; pass it again")),
                    Weight = u.Weight, Start = u.Start, End = u.End, Mode = UnitNames.TryParseControlMode(u.Mode) ?? ControlMode.Balanced,
                    Preprocess = u.Preprocess, Model = u.Model, Options = u.Options ?? new Dictionary<string, string>(),
                    Resize = u.Resize is null ? ResizeMode.CropAndResize
                        : UnitNames.TryParseResizeMode(u.Resize) ?? throw new BadInputException("from", $"{source}: a '{u.Condition}' unit's resize '{u.Resize}'"),
                    ProcessorResolution = u.ProcessorResolution, Mask = u.Mask is null ? null : ImageSource.FromPath(u.Mask), UnionType = u.UnionType,
                }).ToList(),
            }).ToList(),
        };
    }
}
