using System.Diagnostics;
using ControlHost.Abstractions;
using ControlHost.Application.Detection;
using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Inpainting;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;

namespace ControlHost.Application.Placement;

/// <summary>
/// Box placement over the generation service: each box becomes an only-masked inpainting job on the image so far
/// (the box plus its feather band is the mask, the padding around it the context the model sees), with the object's
/// hints fitted into the box, then optional harmonisation. Boxes run in sequence: each later box sees the earlier
/// ones as context, and each costs one generation at the working size (see docs/placement.md).
/// </summary>
public sealed class Placer(GenerationService service)
{
    /// <exception cref="ServiceException">Bad boxes or units, unknown model, internal fault; typed.</exception>
    public PlacementOutput Place(PlacementJob job, IProgress<GenerationProgress>? progress = null, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var background = job.Background.Load(service.Paths, "background", service.Images);
        Validate(job, background.Width, background.Height);
        var model = job.Model ?? InpaintingModelName();
        var firstSeed = GenerationPolicy.FirstSeed(job.Seed);
        var current = background;
        var placed = new List<PlacedBox>();
        string infotext = "";
        for (var k = 0; k < job.Boxes.Count; k++)
        {
            cancellation.ThrowIfCancellationRequested();
            var box = job.Boxes[k];
            var prompt = box.Prompt ?? job.Prompt ?? throw new BadInputException($"boxes[{k}].prompt", $"box {k + 1} has no prompt, and the job gives none");
            var seed = GenerationPolicy.SeedOf(firstSeed, k);
            var units = box.Units.Select((u, i) => FittedIntoBox(u, box.Box, background.Width, background.Height, $"boxes[{k}].units[{i}]", cancellation)).ToList();
            var generation = new GenerationJob
            {
                Prompt = prompt, NegativePrompt = box.NegativePrompt ?? job.NegativePrompt, Steps = job.Steps, CfgScale = job.CfgScale,
                Sampler = job.Sampler, Seed = seed, Model = model, Width = job.Width, Height = job.Height, Strength = job.Strength ?? 1.0,
                InitImage = current, Units = units, PreviewEvery = job.PreviewEvery,
                Inpaint = new InpaintSpec { Box = box.Box, MaskBlur = 0, Feather = job.Feather, OnlyMasked = true, Padding = job.Padding, Content = job.Content },
            };
            var output = service.Generate(generation, progress is null ? null : new BoxProgress(progress, k, job.Boxes.Count), cancellation);
            var generated = output.Images[0].Image;
            var mask = MaskBuilder.Build(generation.Inpaint, background.Width, background.Height, service.Paths, service.Images);
            current = Harmonizer.Apply(job.Harmonize, current, generated, mask, box.Box);
            placed.Add(new PlacedBox(box.Box, prompt, seed, output.Warnings));
            infotext = output.Images[0].Infotext;
        }
        var record = PlacementRecord.Document(job, model, firstSeed, service.Paths);
        return new PlacementOutput(current, placed, infotext, record, clock.Elapsed, model);
    }

    /// <summary>The default model's inpainting variant (model folder "NAME-inpainting") when there is one.</summary>
    private string? InpaintingModelName()
    {
        var name = ModelCatalog.DefaultModelName + "-inpainting";
        return service.Catalog.Models.Any(m => string.Equals(Path.GetFileName(m), name, StringComparison.OrdinalIgnoreCase)) ? name : null;
    }

    private static void Validate(PlacementJob job, int width, int height)
    {
        if (job.Boxes.Count == 0) throw new BadInputException("boxes", "no boxes: give at least one box to place an object in");
        for (var k = 0; k < job.Boxes.Count; k++)
        {
            var b = job.Boxes[k].Box;
            var field = $"boxes[{k}]";
            if (b.Width <= 0 || b.Height <= 0) throw new BadInputException(field, $"box {k + 1} ({b}): width and height must be at least 1 pixel");
            if (b.X < 0 || b.Y < 0 || b.Right > width || b.Bottom > height)
                throw new BadInputException(field, $"box {k + 1} ({b}) reaches outside the {width}x{height} background: x and y from 0, x+w up to {width}, y+h up to {height}");
            if (job.AllowOverlap) continue;
            for (var j = 0; j < k; j++)
                if (job.Boxes[j].Box.IoU(b) > 0)
                    throw new BadInputException(field, $"boxes {j + 1} ({job.Boxes[j].Box}) and {k + 1} ({b}) overlap; move them apart or allow overlap (a later box then paints over an earlier one)");
        }
        if (job.Feather is < 0 or > 256) throw new BadInputException("feather", $"feather {job.Feather}: must be 0..256 pixels");
        if (job.Padding is < 0 or > 4096) throw new BadInputException("padding", $"padding {job.Padding}: must be 0..4096 pixels");
    }

    /// <summary>
    /// A spatial unit's hint made from the object image alone (its preprocessor runs on that image, so the box's
    /// edge is no edge of the hint), fitted into the box with its aspect kept and centred, on an empty (black) hint
    /// of the background's size. Global units (a colour histogram of the object) pass as they are.
    /// </summary>
    private UnitSpec FittedIntoBox(UnitSpec unit, PixelBox box, int width, int height, string field, CancellationToken cancellation)
    {
        if (service.Conditions.Find(unit.Condition)?.Kind == ConditionKind.Global) return unit;
        RgbImage hint;
        if (unit.Image.IsOpenPoseJson(service.Paths) || !unit.Preprocess)
            hint = unit.Image.IsOpenPoseJson(service.Paths) ? unit.Image.RenderOpenPose(service.Paths, field, service.Images) : unit.Image.Load(service.Paths, field, service.Images);
        else
            hint = Failures.Guard(field, () => service.Detector().Detect(unit.Condition, unit.Image, unit.Options, cancellation).Image);
        return unit with
        {
            Image = FitIntoBox(hint, box, width, height), Preprocess = false, Resize = ResizeMode.JustResize, ProcessorResolution = 0,
            Options = new Dictionary<string, string>(),
        };
    }

    /// <summary>A hint fitted into a box, aspect kept and centred, on an empty (black) canvas of the given size.</summary>
    public static RgbImage FitIntoBox(RgbImage hint, PixelBox box, int width, int height)
    {
        var canvas = new byte[width * height * 3];
        var scale = Math.Min((double)box.Width / hint.Width, (double)box.Height / hint.Height);
        int w = Math.Max(1, (int)Math.Round(hint.Width * scale)), h = Math.Max(1, (int)Math.Round(hint.Height * scale));
        var fitted = ImageIo.Fit(hint, w, h, ResizeMode.JustResize);
        int x0 = box.X + (box.Width - w) / 2, y0 = box.Y + (box.Height - h) / 2;
        for (var y = 0; y < h; y++)
            Array.Copy(fitted.Pixels, y * w * 3, canvas, ((y0 + y) * width + x0) * 3, w * 3);
        return new RgbImage(width, height, canvas);
    }

    private sealed class BoxProgress(IProgress<GenerationProgress> target, int box, int boxes) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => target.Report(value with { Image = box + 1, Images = boxes });
    }
}
