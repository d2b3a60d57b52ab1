using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Names;
using ControlHost.Application.Placement;
using ControlHost.Application.Sources;
using ControlHost.Application.UserModels;

namespace ControlHost.Application.Jobs;

/// <summary>
/// Between job documents and the application layer's jobs, both ways: a document runs as a <see cref="GenerationJob"/>
/// or <see cref="PlacementJob"/>, and a job built by a caller (the CLI's flags, an A1111 body) becomes the document that
/// is submitted. Images become references through the caller's function (by value, or by hash into a store).
/// </summary>
public static class JobMapping
{
    /// <summary>Images as values: their encoded bytes read under <paramref name="paths"/>.</summary>
    public static Func<ImageSource, string, ImageRef> ByValue(PathPolicy paths) =>
        (source, field) => ImageRef.ByValue(source.Bytes(paths, field), source.FilePath is { } path ? Path.GetFileName(path) : null);

    public static GenerationJob ToJob(GenerateDocument d, JobImages images) => new()
    {
        Prompt = d.Prompt, NegativePrompt = d.NegativePrompt, Width = d.Width, Height = d.Height, Steps = d.Steps, CfgScale = d.CfgScale,
        Sampler = d.Sampler, Seed = d.Seed, BatchSize = d.BatchSize, Iterations = d.NIter, Model = d.Model,
        InitImage = d.InitImage is null ? null : images.Source(d.InitImage, "init_image"),
        Mask = d.Mask is null ? null : images.Source(d.Mask, "mask"), Strength = d.Strength,
        Inpaint = d.Inpaint is not { } p ? null : new InpaintSpec
        {
            MaskImage = p.Mask is null ? null : images.Source(p.Mask, "inpaint.mask"), Box = p.Box is null ? null : PixelBox.Parse(p.Box),
            Polygon = p.Polygon?.Select(a => (a[0], a[1])).ToList(), MaskBlur = p.MaskBlur, Feather = p.Feather, Invert = p.Invert,
            Content = p.Content is null ? null : InpaintNames.TryParseContent(p.Content), OnlyMasked = p.OnlyMasked, Padding = p.Padding,
        },
        Hires = d.Hires is not { } h ? null : new HiresSpec
        {
            Scale = h.Scale, ResizeX = h.ResizeX, ResizeY = h.ResizeY, Upscaler = h.Upscaler, Steps = h.Steps, Strength = h.Strength,
            Prompt = h.Prompt, NegativePrompt = h.NegativePrompt, Sampler = h.Sampler,
        },
        Units = d.Units?.Select((u, i) => u.ToSpec(images, $"units[{i}]")).ToList(),
        Loras = d.Loras?.Select(l => new LoraSpec(l.Name, l.Weight)).ToList(), PreviewEvery = d.PreviewEvery,
    };

    public static GenerateDocument FromJob(GenerationJob j, Func<ImageSource, string, ImageRef> images) => new()
    {
        Prompt = j.Prompt, NegativePrompt = j.NegativePrompt, Width = j.Width, Height = j.Height, Steps = j.Steps, CfgScale = j.CfgScale,
        Sampler = j.Sampler, Seed = j.Seed, BatchSize = j.BatchSize, NIter = j.Iterations, Model = j.Model,
        InitImage = j.InitImage is null ? null : images(j.InitImage, "init_image"), Mask = j.Mask is null ? null : images(j.Mask, "mask"),
        Strength = j.Strength,
        Inpaint = j.Inpaint is not { } p ? null : new InpaintDocument
        {
            Mask = p.MaskImage is null ? null : images(p.MaskImage, "inpaint.mask"), Box = p.Box?.ToString(),
            Polygon = p.Polygon?.Select(q => new[] { q.X, q.Y }).ToList(), MaskBlur = p.MaskBlur, Feather = p.Feather, Invert = p.Invert,
            Content = p.Content is { } c ? InpaintNames.Format(c) : null, OnlyMasked = p.OnlyMasked, Padding = p.Padding,
        },
        Hires = j.Hires is not { } h ? null : new HiresDocument
        {
            Scale = h.Scale, ResizeX = h.ResizeX, ResizeY = h.ResizeY, Upscaler = h.Upscaler, Steps = h.Steps, Strength = h.Strength,
            Prompt = h.Prompt, NegativePrompt = h.NegativePrompt, Sampler = h.Sampler,
        },
        Units = j.Units is { Count: > 0 } units ? units.Select((u, i) => UnitDocument.From(u, images, $"units[{i}]")).ToList() : null,
        Loras = j.Loras is { Count: > 0 } loras ? loras.Select(l => new LoraDocument(l.Name, l.Weight)).ToList() : null, PreviewEvery = j.PreviewEvery,
    };

    public static PlacementJob ToJob(PlaceDocument d, JobImages images) => new()
    {
        Background = images.Source(d.Background!, "background"), Prompt = d.Prompt, NegativePrompt = d.NegativePrompt, Steps = d.Steps,
        CfgScale = d.CfgScale, Sampler = d.Sampler, Seed = d.Seed, Model = d.Model, Width = d.Width, Height = d.Height, Padding = d.Padding,
        Feather = d.Feather, Harmonize = Enum.Parse<Harmonization>(d.Harmonize, ignoreCase: true),
        Content = d.Content is null ? null : InpaintNames.TryParseContent(d.Content), Strength = d.Strength, AllowOverlap = d.AllowOverlap,
        PreviewEvery = d.PreviewEvery,
        Boxes = (d.Boxes ?? []).Select((b, k) => new BoxPlacement
        {
            Box = PixelBox.Parse(b.Box), Prompt = b.Prompt, NegativePrompt = b.NegativePrompt,
            Units = (b.Units ?? []).Select((u, i) => u.ToSpec(images, $"boxes[{k}].units[{i}]")).ToList(),
        }).ToList(),
    };

    public static PlaceDocument FromJob(PlacementJob j, Func<ImageSource, string, ImageRef> images) => new()
    {
        Background = images(j.Background, "background"), Prompt = j.Prompt, NegativePrompt = j.NegativePrompt, Steps = j.Steps,
        CfgScale = j.CfgScale, Sampler = j.Sampler, Seed = j.Seed, Model = j.Model, Width = j.Width, Height = j.Height, Padding = j.Padding,
        Feather = j.Feather, Harmonize = j.Harmonize.ToString().ToLowerInvariant(), Content = j.Content is { } c ? InpaintNames.Format(c) : null,
        Strength = j.Strength, AllowOverlap = j.AllowOverlap, PreviewEvery = j.PreviewEvery,
        Boxes = j.Boxes.Select((b, k) => new BoxDocument
        {
            Box = b.Box.ToString(), Prompt = b.Prompt, NegativePrompt = b.NegativePrompt,
            Units = b.Units.Count == 0 ? null : b.Units.Select((u, i) => UnitDocument.From(u, images, $"boxes[{k}].units[{i}]")).ToList(),
        }).ToList(),
    };
}
