using System.Diagnostics;
using System.Numerics.Tensors;
using ControlHost.Abstractions;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Scheduling;

namespace ControlHost.Engine.Pipeline;

/// <summary>
/// The denoise loop: text encoding, classifier-free guidance as one batch-2 UNet run per step, control branches
/// (residuals summed in place into buffers allocated once), the scheduler, latent constraints, VAE decoding.
/// </summary>
public sealed class DiffusionPipeline(StableDiffusionModel model)
{
    /// <summary>sd-webui-controlnet's soft-injection base: residual i of SD's 13 is scaled by 0.825^(12-i).</summary>
    public const double SoftInjectionBase = 0.825;

    public StableDiffusionModel Model => model;

    /// <exception cref="ArgumentException">A request value is out of range; the message names it.</exception>
    public GenerationResult Generate(GenerationRequest request, IReadOnlyList<ControlUnit> units,
        IProgress<StepProgress>? progress = null, CancellationToken cancellation = default)
    {
        if (request.Validate() is { } problem) throw new ArgumentException(problem);
        var width = request.Width == 0 ? model.Folder.NativeSize : request.Width;
        var height = request.Height == 0 ? model.Folder.NativeSize : request.Height;
        var scheduler = Samplers.Create(request.Sampler, model.Schedule);
        scheduler.SetTimesteps(request.Steps);
        var inpaintingUnet = model.Unet.InChannels == 9;
        if (model.Unet.InChannels != 4 && !inpaintingUnet)
            throw new ArgumentException($"{model.Folder.Unet} has {model.Unet.InChannels} input channels; 4 (a plain UNet) or 9 (an inpainting UNet) are supported");
        if (inpaintingUnet && request.Mask is null)
            throw new ArgumentException($"{model.Folder.Unet} has 9 input channels (an inpainting UNet): it needs an init image and a mask; txt2img and img2img need a 4-channel UNet");
        var layout = model.Unet.Residuals;
        for (var u = 0; u < units.Count; u++)
            if (units[u].Branch is IResidualBranch && layout is null)
                throw new ArgumentException($"unit {u + 1}: model '{units[u].ModelName}' expects a UNet with ControlNet residual inputs; {model.Folder.Unet} has none");

        var seed = request.Seed >= 0 ? (uint)request.Seed : (uint)Random.Shared.NextInt64(0, (long)uint.MaxValue + 1);
        var rng = new NoiseGenerator(seed);
        var (h, w) = (height / 8, width / 8);
        var latentLength = 4 * h * w;
        var useGuidance = Math.Abs(request.CfgScale - 1.0) > 1e-9;
        var batch = useGuidance ? 2 : 1;

        // Text: [uncond; cond] so that the batch-2 UNet run sees the unconditional half first.
        var textClock = Stopwatch.StartNew();
        var cond = model.TextEncoder.Encode(model.Tokenizer.EncodeForModel(request.Prompt));
        var uncond = useGuidance ? model.TextEncoder.Encode(model.Tokenizer.EncodeForModel(request.NegativePrompt)) : null;
        var (tokens, dim) = (cond.Tokens, cond.Dim);
        var textContext = new float[batch * tokens * dim];
        if (uncond is not null) uncond.Data.CopyTo(textContext, 0);
        cond.Data.CopyTo(textContext, (batch - 1) * tokens * dim);
        var contextTokens = units.Select((u, i) => u.Branch is IContextBranch c && u.Weight != 0f ? ScaledTokens(c, u.Weight, dim, i) : null).ToArray();
        textClock.Stop();

        // Starting latent: pure noise, or the encoded init image noised to the first executed level.
        var noise = rng.Normal(latentLength);
        var latent = new float[latentLength];
        var firstStep = 0;
        float[]? clean = null;
        Inpainting? inpaint = null;
        if (request.InitImage is { } init)
        {
            var fittedInit = ImageIo.Fit(init, width, height, ResizeMode.JustResize);
            clean = EncodeImage(fittedInit, h, w);
            if (request.Mask is { } mask)
                inpaint = Inpainting.Create(fittedInit, ImageIo.Fit(mask, width, height, ResizeMode.JustResize),
                    inpaintingUnet ? chw => EncodeChw(chw, height, width, h, w) : null);
            firstStep = request.Steps - Math.Min((int)(request.Steps * request.Strength), request.Steps);
            scheduler.AddNoise(clean, noise, firstStep, latent);
        }
        else
        {
            var sigma = (float)scheduler.InitNoiseSigma;
            for (var i = 0; i < latentLength; i++) latent[i] = noise[i] * sigma;
        }

        // Buffers for the whole loop.
        var modelIn = new float[batch * latentLength];
        // An inpainting UNet reads 9 channels; ControlNets still read the 4-channel latents in modelIn.
        var unetEntry = model.Unet.InChannels * h * w;
        var unetIn = inpaintingUnet ? new float[batch * unetEntry] : modelIn;
        var noisedInit = inpaint is not null && !inpaintingUnet ? new float[latentLength] : null;
        var modelOut = new float[batch * latentLength];
        var guided = new float[latentLength];
        var sampleTensor = new FloatTensor(modelIn, batch, 4, h, w);
        var textTensor = new FloatTensor(textContext, batch, tokens, dim);
        float[][]? sums = null, scratch = null;
        FloatTensor[]? scratchTensors = null;
        if (layout is not null && units.Any(u => u.Branch is IResidualBranch))
        {
            var shapes = Enumerable.Range(0, layout.Count).Select(i => layout.Shape(i, batch, h, w)).ToArray();
            sums = shapes.Select(s => new float[s[0] * s[1] * s[2] * s[3]]).ToArray();
            scratch = shapes.Select(s => new float[s[0] * s[1] * s[2] * s[3]]).ToArray();
            scratchTensors = scratch.Select((b, i) => new FloatTensor(b, shapes[i])).ToArray();
        }
        var sumSlices = sums?.Select(s => new Memory<float>(s)).ToArray();
        float[]? condContext = null;
        List<int> activeBefore = [], activeNow = [];
        var latentTensor = new FloatTensor(latent, 1, 4, h, w);

        var timings = new List<StepTiming>();
        var executed = request.Steps - firstStep;
        for (var step = firstStep; step < request.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            var stepClock = Stopwatch.StartNew();
            var modelTimeBefore = SessionTime();
            var t = scheduler.Timesteps[step];
            for (var b = 0; b < batch; b++) scheduler.ScaleModelInput(latent, modelIn.AsSpan(b * latentLength, latentLength), step);
            if (inpaintingUnet)
                for (var b = 0; b < batch; b++)
                    inpaint!.FillUnetInput(modelIn.AsSpan(b * latentLength, latentLength), unetIn.AsSpan(b * unetEntry, unetEntry));

            // Residual branches: each active unit computes into scratch, the engine scales and sums.
            var anyResidual = false;
            if (sums is not null)
            {
                foreach (var s in sums) Array.Clear(s);
                for (var u = 0; u < units.Count; u++)
                {
                    if (units[u].Branch is not IResidualBranch branch || !units[u].IsActive(step, request.Steps)) continue;
                    RunBranch(u, units[u], () => branch.Compute(new ResidualRequest(sampleTensor, (float)t, textTensor, step, request.Steps), scratchTensors!));
                    if (units[u].Mask is { } mask) ApplyMask(mask, scratchTensors!);
                    AddScaled(units[u], scratch!, sums, batch);
                    anyResidual = true;
                }
            }

            // Context tokens of active global units go after the conditional text.
            // Which global units are active, as a set compared step to step: the context is rebuilt only on a change.
            activeNow.Clear();
            for (var u = 0; u < units.Count; u++)
                if (contextTokens[u] is not null && units[u].IsActive(step, request.Steps)) activeNow.Add(u);
            if (!activeNow.SequenceEqual(activeBefore))
            {
                condContext = activeNow.Count == 0 ? null : cond.Data.Concat(activeNow.SelectMany(u => contextTokens[u]!)).ToArray();
                (activeBefore, activeNow) = (activeNow, activeBefore);
            }

            var residuals = anyResidual ? sumSlices : null;
            if (condContext is null)
            {
                model.Unet.Run(unetIn, batch, h, w, t, textContext, tokens, dim, residuals, modelOut);
            }
            else
            {
                // Different token counts cannot share a batch: run the halves one by one.
                var condTokens = condContext.Length / dim;
                if (useGuidance)
                    model.Unet.Run(unetIn, 1, h, w, t, textContext, tokens, dim, Half(residuals, layout, 0, h, w), modelOut);
                model.Unet.Run(unetIn.AsMemory((batch - 1) * unetEntry), 1, h, w, t, condContext, condTokens, dim,
                    Half(residuals, layout, batch - 1, h, w), modelOut.AsMemory((batch - 1) * latentLength));
            }

            if (useGuidance)
            {
                var un = modelOut.AsSpan(0, latentLength);
                var co = modelOut.AsSpan(latentLength, latentLength);
                TensorPrimitives.Subtract(co, un, guided);
                TensorPrimitives.MultiplyAdd(guided, (float)request.CfgScale, un, guided);
            }
            else modelOut.AsSpan(0, latentLength).CopyTo(guided);
            scheduler.Step(guided, step, latent, rng);
            if (noisedInit is not null)
            {
                scheduler.AddNoise(clean!, noise, step + 1, noisedInit);
                inpaint!.KeepUnmasked(latent, noisedInit);
            }

            for (var u = 0; u < units.Count; u++)
            {
                if (units[u].Branch is not ILatentBranch latentBranch) continue;
                var level = step + 1;
                RunBranch(u, units[u], () => latentBranch.Constrain(new LatentRequest(latentTensor, step, request.Steps,
                    (clean, n, dest) => scheduler.AddNoise(clean, n, level, dest))));
            }

            var inModel = SessionTime() - modelTimeBefore;
            timings.Add(new StepTiming(inModel, stepClock.Elapsed - inModel));
            progress?.Report(new StepProgress(step - firstStep + 1, executed));
        }

        var decodeClock = Stopwatch.StartNew();
        var image = Decode(latent, h, w);
        if (inpaint is not null) image = inpaint.Blend(image);
        decodeClock.Stop();
        var infotext = Infotext.Format(request with { Seed = seed }, seed, width, height, scheduler.Name, model.Name, units);
        return new GenerationResult(image, seed, infotext, timings, textClock.Elapsed, decodeClock.Elapsed);
    }

    private TimeSpan SessionTime() => model.TotalRunTime();

    private static float[] ScaledTokens(IContextBranch branch, float weight, int dim, int unit)
    {
        FloatTensor tokens = null!;
        RunBranch(unit, branch.Name, () => tokens = branch.ComputeContextTokens());
        if (tokens.Shape.Count != 2 || tokens.Shape[1] != dim)
            throw new BranchException(unit, branch.Name, $"context tokens are {tokens.ShapeText}; [T,{dim}] expected");
        var scaled = new float[tokens.Data.Length];
        TensorPrimitives.Multiply(tokens.Data, weight, scaled);
        return scaled;
    }

    /// <summary>Adds a unit's scratch residuals into the sums with its weight and mode.</summary>
    private static void AddScaled(ControlUnit unit, float[][] scratch, float[][] sums, int batch)
    {
        var n = scratch.Length;
        for (var i = 0; i < n; i++)
        {
            var scale = unit.Mode == ControlMode.Balanced ? unit.Weight : unit.Weight * (float)SoftInjection(i, n);
            if (unit.Mode == ControlMode.ControlFirst && batch == 2)
            {
                // Only the conditional half (the second) gets this unit's residuals.
                var half = scratch[i].Length / 2;
                TensorPrimitives.MultiplyAdd(scratch[i].AsSpan(half), scale, sums[i].AsSpan(half), sums[i].AsSpan(half));
            }
            else TensorPrimitives.MultiplyAdd(scratch[i], scale, sums[i], sums[i]);
        }
    }

    /// <summary>Multiplies each residual plane by the unit's mask at that residual's resolution.</summary>
    private static void ApplyMask(RegionMask mask, FloatTensor[] residuals)
    {
        foreach (var r in residuals)
        {
            int h = r.Shape[2], w = r.Shape[3], plane = h * w;
            var m = mask.At(h, w);
            for (var offset = 0; offset < r.Data.Length; offset += plane)
            {
                var slice = r.Data.AsSpan(offset, plane);
                TensorPrimitives.Multiply(slice, m, slice);
            }
        }
    }

    /// <summary>
    /// Soft-injection factor of residual <paramref name="i"/> of <paramref name="count"/> (the last is the middle
    /// block): SD 1.x has 13 and uses 0.825^(12-i); other UNets map their index onto that range linearly.
    /// </summary>
    public static double SoftInjection(int i, int count)
    {
        var sdIndex = count <= 1 ? 12.0 : i * 12.0 / (count - 1);
        return Math.Pow(SoftInjectionBase, 12.0 - sdIndex);
    }

    private static Memory<float>[]? Half(Memory<float>[]? residuals, ResidualLayout? layout, int entry, int h, int w)
    {
        if (residuals is null || layout is null) return null;
        return residuals.Select((r, i) =>
        {
            var s = layout.Shape(i, 1, h, w);
            var per = s[1] * s[2] * s[3];
            return r.Slice(entry * per, per);
        }).ToArray();
    }

    /// <summary>
    /// The image encoded by the VAE and decoded again (the latent mean, no diffusion): what a generation that put
    /// out this image's exact latent would give, i.e. how much of the image the model's VAE keeps.
    /// </summary>
    public RgbImage VaeRoundTrip(RgbImage image)
    {
        var (h, w) = (image.Height / 8, image.Width / 8);
        return Decode(EncodeImage(image, h, w), h, w);
    }

    private float[] EncodeImage(RgbImage image, int h, int w) => EncodeChw(ImageIo.ToChw(image, signed: true), image.Height, image.Width, h, w);

    private float[] EncodeChw(float[] chw, int height, int width, int h, int w)
    {
        var (data, shape) = model.VaeEncoder.Run(chw, 3, height, width);
        if (shape[1] < 4 || shape[2] != h || shape[3] != w)
            throw new InvalidOperationException($"{model.Folder.VaeEncoder}: output [{string.Join(",", shape)}]; [1,4,{h},{w}] expected");
        // Some exports return mean and log-variance (8 channels): the first 4 are the mean.
        var latent = data.AsSpan(0, 4 * h * w).ToArray();
        TensorPrimitives.Multiply(latent, (float)model.LatentScale, latent);
        return latent;
    }

    private RgbImage Decode(float[] latent, int h, int w)
    {
        var scaled = new float[latent.Length];
        TensorPrimitives.Multiply(latent, (float)(1.0 / model.LatentScale), scaled);
        var (data, shape) = model.VaeDecoder.Run(scaled, 4, h, w);
        if (shape[1] != 3)
            throw new InvalidOperationException($"{model.Folder.VaeDecoder}: output [{string.Join(",", shape)}]; [1,3,H,W] expected");
        return ImageIo.FromSignedChw(data, shape[3], shape[2]);
    }

    private static void RunBranch(int unit, ControlUnit u, Action action) => RunBranch(unit, u.Branch.Name, action);

    private static void RunBranch(int unit, string name, Action action)
    {
        try { action(); }
        catch (BranchException) { throw; }
        catch (OperationCanceledException) { throw; }
        catch (Exception e)
        {
            throw new BranchException(unit, name, e.Message, e);
        }
    }
}

/// <summary>A branch failed; the message names the unit (1-based) and the branch.</summary>
public sealed class BranchException(int unit, string branch, string reason, Exception? inner = null)
    : Exception($"unit {unit + 1} ({branch}): {reason}", inner)
{
    public int Unit { get; } = unit;
}
