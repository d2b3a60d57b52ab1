using System.Text.Json;
using System.Text.Json.Serialization;
using ControlHost.Application.Errors;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Jobs;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Placement;

/// <summary>
/// A placement job as run, kept in the PNG beside A1111's "parameters": the job document (<see cref="JobDocument"/>
/// with <c>place</c>) with the seed and model actually used and its images by content hash, so that reading it back
/// (<c>place --from FILE.png</c>) repeats the placement byte for byte, given the images (the CLI keeps them by hash).
/// Records written before job documents (paths instead of hashes) are still read.
/// </summary>
public static class PlacementRecord
{
    /// <summary>The text chunk: the same job document under the name placement records always had.</summary>
    public const string Keyword = "controlhost-placement";

    /// <summary>The job with the seed and model it ran with; its images by hash.</summary>
    public static JobDocument Document(PlacementJob job, string? model, uint seed, PathPolicy paths) => new()
    {
        Place = JobMapping.FromJob(job with { Seed = seed, Model = model ?? job.Model }, (s, field) => ImageRef.ByHash(ImageRef.HashOf(s.Bytes(paths, field)))),
    };

    /// <summary>The recorded job as a document; a record of the first form has its files read under <paramref name="paths"/>.</summary>
    /// <exception cref="BadInputException">Not a placement record, or one whose files cannot be read.</exception>
    public static JobDocument Read(string text, string source, PathPolicy paths)
    {
        try
        {
            using var probe = JsonDocument.Parse(text);
            if (probe.RootElement.ValueKind == JsonValueKind.Object && probe.RootElement.TryGetProperty("place", out _))
            {
                var document = JobDocument.Parse(text);
                return document.Place is null ? throw new BadInputException("from", $"{source}: the record is a {document.Operation} job, not a placement") : document;
            }
        }
        catch (JsonException e)
        {
            throw new BadInputException("from", $"{source}: the placement record is not valid ({e.Message})", e);
        }
        catch (JobValidationException e)
        {
            throw new BadInputException("from", $"{source}: the placement record is not valid ({e.Message})", e);
        }
        return new JobDocument { Place = JobMapping.FromJob(FirstForm.Read(text, source), JobMapping.ByValue(paths)) };
    }

    /// <summary>The first form of the record (version 1, files by path), read for PNGs written before job documents.</summary>
    private static class FirstForm
    {
        private static readonly JsonSerializerOptions Json = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };

        private sealed record UnitDto(string Condition, string? Image, float Weight, double Start, double End, string Mode, bool Preprocess,
            string? Model, Dictionary<string, string>? Options, string? Resize = null, int ProcessorResolution = 0, string? Mask = null,
            string? UnionType = null);

        private sealed record BoxDto(string Box, string? Prompt, string? NegativePrompt, List<UnitDto> Units);

        private sealed record JobDto(int Version, string? Background, string? Prompt, string? NegativePrompt, int? Steps, double? CfgScale,
            string? Sampler, long Seed, string? Model, int? Width, int? Height, int Padding, int Feather, string Harmonize, string? Content,
            double? Strength, bool AllowOverlap, List<BoxDto> Boxes);

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
}
