using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Names;
using ControlHost.Application.Sources;
using ControlHost.Application.Upscaling;
using ControlHost.Application.UserModels;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Application.Generation;

/// <summary>
/// One job's hires fix, laid out before anything runs: the second pass's size (and the crop A1111 takes off it), its
/// upscaler, steps, strength, prompts and sampler. <see cref="SecondPass"/> turns a first pass's result into the
/// second pass's request.
/// </summary>
internal sealed class HiresFix
{
    private readonly HiresSpec _spec;
    private readonly LatentUpscaleMode? _latentMode;
    private readonly string _imageUpscaler; // the canonical name (a latent mode's too)
    private readonly int _upWidth, _upHeight, _cropX, _cropY;

    private readonly IReadOnlyList<string> _upscalerFiles;

    // The latent's channels and cells per pixel come from the model's family (4 and 8 for SD 1.x, 2.x and SDXL alike);
    // the pixel grid of the sizes is A1111's multiple of 8 whatever the family.
    private readonly int _channels, _factor;

    private HiresFix(HiresSpec spec, int width, int height, ImageBudget budget, IReadOnlyList<string> upscalerFiles, Engine.Families.ModelFamily family)
    {
        _spec = spec;
        (_channels, _factor) = (family.LatentChannels, family.LatentFactor);
        _upscalerFiles = upscalerFiles;
        (_latentMode, _imageUpscaler) = spec.Resolve(upscalerFiles);
        (_upWidth, _upHeight, _cropX, _cropY) = spec.Target(width, height);
        budget.CheckWork(_upWidth, _upHeight, "hr_scale", $"the hires fix of {width}x{height}");
        Width = _upWidth - _cropX * 8;
        Height = _upHeight - _cropY * 8;
        if (spec.Sampler is { } sampler && SamplerNames.TryParse(sampler) is null)
            throw new NotFoundException("hr_sampler_name", $"unknown sampler '{sampler}' (known: {string.Join(", ", SamplerNames.Names)})", SamplerNames.Names);
    }

    /// <summary>The job's hires fix, or null when it asks for none.</summary>
    /// <exception cref="BadInputException">Asked for with an init image (A1111 has it for txt2img only), or a bad value.</exception>
    /// <exception cref="NotFoundException">An unknown upscaler or sampler.</exception>
    public static HiresFix? For(GenerationJob job, GenerationRequest first, ImageBudget budget, IReadOnlyList<string> upscalerFiles,
        Engine.Families.ModelFamily family)
    {
        if (job.Hires is not { } spec) return null;
        if (job.InitImage is not null) throw new BadInputException("enable_hr", "the hires fix is for txt2img; img2img works at its own size (leave enable_hr off)");
        return new HiresFix(spec, first.Width, first.Height, budget, upscalerFiles, family);
    }

    /// <summary>The second pass's size: a multiple of 8.</summary>
    public int Width { get; }
    public int Height { get; }

    /// <summary>The second pass's sampling steps before its strength skips the first ones.</summary>
    public int StepsFor(GenerationRequest first) => _spec.Steps is > 0 ? _spec.Steps.Value : first.Steps;

    /// <summary>The steps the second pass executes.</summary>
    public int ExecutedSteps(GenerationRequest first) => (first with { Steps = StepsFor(first), Strength = Strength }).StrengthSteps;

    public double Strength => _spec.Strength ?? HiresSpec.DefaultStrength;

    /// <summary>The second pass: the first pass's latent (or decoded image) upscaled, denoised again from part of the way.</summary>
    public GenerationRequest SecondPass(GenerationRequest first, GenerationResult result)
    {
        var steps = StepsFor(first);
        var request = first with
        {
            Width = Width, Height = Height, Steps = steps, Strength = Strength, InitImage = null, InitLatent = null, PreviewEvery = first.PreviewEvery,
            Prompt = _spec.Prompt is { Length: > 0 } p ? LoraTags.Extract(p).Prompt : first.Prompt,
            NegativePrompt = _spec.NegativePrompt is { Length: > 0 } n ? LoraTags.Extract(n).Prompt : first.NegativePrompt,
            Sampler = _spec.Sampler is { } s && SamplerNames.TryParse(s) is { } sampler ? sampler : first.Sampler,
        };
        if (_latentMode is { } mode)
        {
            var f = _factor;
            var up = LatentResize.Resize(result.FinalLatent, _channels, first.Height / f, first.Width / f, _upHeight / f, _upWidth / f, mode);
            return request with { InitLatent = Crop(up, _channels, _upHeight / f, _upWidth / f, _cropY / 2, _cropX / 2, Height / f, Width / f) };
        }
        // "None" still resizes (A1111 resizes with Lanczos after an upscaler that did nothing).
        var image = Upscalers.Upscale(result.Decoded, _imageUpscaler == "None" ? "Lanczos" : _imageUpscaler, _upWidth, _upHeight, _upscalerFiles);
        return request with { InitImage = ImageIo.Crop(image, _cropX / 2 * 8, _cropY / 2 * 8, Width, Height) };
    }

    /// <summary>A1111's infotext fields for the hires fix.</summary>
    public IEnumerable<string> InfotextPairs(GenerationRequest first)
    {
        if (_spec.ResizeX is > 0 || _spec.ResizeY is > 0) yield return $"Hires resize: {_spec.ResizeX ?? 0}x{_spec.ResizeY ?? 0}";
        else yield return $"Hires upscale: {Infotext.Num(_spec.Scale)}";
        if (_spec.Steps is > 0) yield return $"Hires steps: {_spec.Steps}";
        yield return $"Hires upscaler: {_imageUpscaler}";
        yield return $"Denoising strength: {Infotext.Num(Strength)}";
        if (_spec.Prompt is { Length: > 0 } p && p != first.Prompt) yield return $"Hires prompt: \"{p.Replace("\"", "'")}\"";
        if (_spec.NegativePrompt is { Length: > 0 } n && n != first.NegativePrompt) yield return $"Hires negative prompt: \"{n.Replace("\"", "'")}\"";
        if (_spec.Sampler is { } s && SamplerNames.TryParse(s) is { } sampler && sampler != first.Sampler) yield return $"Hires sampler: {SamplerNames.Format(sampler)}";
    }

    /// <summary>A window of a planar [C,H,W] latent.</summary>
    private static float[] Crop(float[] data, int channels, int height, int width, int top, int left, int newHeight, int newWidth)
    {
        if (top == 0 && left == 0 && newHeight == height && newWidth == width) return data;
        var result = new float[channels * newHeight * newWidth];
        for (var c = 0; c < channels; c++)
            for (var y = 0; y < newHeight; y++)
                Array.Copy(data, c * height * width + (top + y) * width + left, result, c * newHeight * newWidth + y * newWidth, newWidth);
        return result;
    }
}
