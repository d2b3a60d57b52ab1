using System.Diagnostics;
using System.Numerics.Tensors;
using ControlHost.Abstractions;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Families;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Onnx;
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

    /// <summary>
    /// One generation, in the order of diffusers' pipelines: 1 check inputs, 2 encode text, 3 prepare latents,
    /// 4 prepare units and buffers, 5 each step (branches, UNet, guidance, scheduler, constraints), 6 decode,
    /// 7 composite. Each phase is a method of <see cref="GenerationRun"/>, which holds the generation's buffers.
    /// </summary>
    /// <param name="finishEarly">A1111's interrupt: when set, the loop stops before its next step and the latent as
    /// it is then is decoded and returned (partly denoised), marked <see cref="GenerationResult.StoppedAfter"/>.
    /// <paramref name="cancellation"/> instead abandons the image.</param>
    /// <exception cref="ArgumentException">A request value is out of range; the message names it.</exception>
    public GenerationResult Generate(GenerationRequest request, IReadOnlyList<ControlUnit> units,
        IProgress<StepProgress>? progress = null, CancellationToken cancellation = default, CancellationToken finishEarly = default)
    {
        var run = GenerationRun.CheckInputs(this, request, units);
        var textClock = Stopwatch.StartNew();
        run.EncodeText();
        textClock.Stop();
        run.PrepareLatents();
        run.PrepareUnits();

        var timings = new List<StepTiming>(request.Steps);
        int? stoppedAfter = null;
        for (var step = run.FirstStep; step < request.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            if (finishEarly.IsCancellationRequested)
            {
                stoppedAfter = step - run.FirstStep;
                break;
            }
            var stepClock = Stopwatch.StartNew();
            var modelTimeBefore = OnnxModel.ThreadRunTime;
            run.Step(step);
            var inModel = OnnxModel.ThreadRunTime - modelTimeBefore;
            timings.Add(new StepTiming(inModel, stepClock.Elapsed - inModel));
            if (progress is not null)
            {
                var done = step - run.FirstStep + 1;
                var preview = request.PreviewEvery > 0 && done % request.PreviewEvery == 0 && done < run.ExecutedSteps ? run.Decode() : null;
                progress.Report(new StepProgress(done, run.ExecutedSteps, preview));
            }
        }

        var decodeClock = Stopwatch.StartNew();
        var decoded = run.Decode();
        var image = run.Composite(decoded);
        decodeClock.Stop();
        return new GenerationResult(image, request.Seed, run.Latent.ToArray(), timings, textClock.Elapsed, decodeClock.Elapsed)
        {
            Decoded = decoded, StoppedAfter = stoppedAfter,
        };
    }

    /// <summary>The state of one generation: its inputs, schedule, noise and every buffer of the loop.</summary>
    private sealed class GenerationRun
    {
        private readonly DiffusionPipeline _pipeline;
        private readonly StableDiffusionModel _model;
        private readonly GenerationRequest _request;
        private readonly IReadOnlyList<ControlUnit> _units;
        private readonly IScheduler _scheduler;
        private readonly NoiseGenerator _rng;
        private readonly int _width, _height, _h, _w, _channels, _latentLength, _batch;
        private readonly Families.ModelFamily _family;
        private readonly bool _useGuidance, _inpaintingUnet;
        private readonly ResidualLayout? _layout;

        // Phase 2: text.
        private Families.PromptConditioning _cond = null!;
        private FloatTensor? _pooledTensor;
        private IReadOnlyDictionary<string, FloatTensor> _extraInputs = new Dictionary<string, FloatTensor>();
        private Dictionary<string, Memory<float>> _unetExtras = [];
        private float[] _textContext = [];
        private float[]?[] _contextTokens = [];
        private int _tokens, _dim;

        // Phase 3: latents.
        private float[] _noise = [];
        private float[]? _clean;
        private Inpainting? _inpaint;
        public float[] Latent { get; private set; } = [];
        public int FirstStep { get; private set; }
        public int ExecutedSteps => _request.Steps - FirstStep;

        // Phase 4: loop buffers, made once.
        private float[] _modelIn = [], _unetIn = [], _modelOut = [], _guided = [];
        private float[]?[] _blurredReferences = [];
        private int _unetEntry;
        private FloatTensor _sampleTensor = null!, _textTensor = null!, _latentTensor = null!;
        private float[][]? _sums, _scratch;
        private FloatTensor[]? _scratchTensors;
        private Memory<float>[]? _sumSlices;
        private float[]? _condContext;
        private List<int> _activeBefore = [], _activeNow = [];
        private readonly List<(int Unit, ILatentBranch Branch)> _constraints = [];
        private int _noiseLevel;
        private Action<float[], float[], float[]> _addNoiseAtLevel = null!;

        private GenerationRun(DiffusionPipeline pipeline, GenerationRequest request, IReadOnlyList<ControlUnit> units, int width, int height)
        {
            _pipeline = pipeline;
            _model = pipeline.Model;
            _request = request;
            _units = units;
            _family = _model.Family;
            var factor = _family.LatentFactor;
            (_width, _height, _h, _w, _channels) = (width, height, height / factor, width / factor, _family.LatentChannels);
            _latentLength = _channels * _h * _w;
            _scheduler = Samplers.Create(request.Sampler, _model.Schedule);
            _scheduler.SetTimesteps(request.Steps);
            _rng = new NoiseGenerator(request.Seed);
            _useGuidance = Math.Abs(request.CfgScale - 1.0) > 1e-9;
            _batch = _useGuidance ? 2 : 1;
            _inpaintingUnet = _model.Unet.InChannels == 9;
            _layout = _model.Unet.Residuals;
        }

        /// <summary>Phase 1: every problem with the request is raised here, before any model runs.</summary>
        public static GenerationRun CheckInputs(DiffusionPipeline pipeline, GenerationRequest request, IReadOnlyList<ControlUnit> units)
        {
            var model = pipeline.Model;
            if (request.Validate() is { } problem) throw new ArgumentException(problem);
            var unet = model.Unet;
            if (unet.InChannels is not (4 or 9))
                throw new ArgumentException($"{model.Folder.Unet} has {unet.InChannels} input channels; 4 (a plain UNet) or 9 (an inpainting UNet) are supported");
            if (unet.InChannels == 9 && request.Mask is null)
                throw new ArgumentException($"{model.Folder.Unet} has 9 input channels (an inpainting UNet): it needs an init image and a mask; txt2img and img2img need a 4-channel UNet");
            for (var u = 0; u < units.Count; u++)
                if (units[u].Branch is IResidualBranch && unet.Residuals is null)
                    throw new ArgumentException($"unit {u + 1}: model '{units[u].ModelName}' expects a UNet with ControlNet residual inputs; {model.Folder.Unet} has none");
            var width = request.Width == 0 ? model.Folder.NativeSize : request.Width;
            var height = request.Height == 0 ? model.Folder.NativeSize : request.Height;
            var (c, f) = (model.Family.LatentChannels, model.Family.LatentFactor);
            if (request.Noise is { } noise && noise.Length != c * (height / f) * (width / f))
                throw new ArgumentException($"starting noise of {noise.Length} values does not match {width}x{height} ([1,{c},{height / f},{width / f}])");
            if (request.InitLatent is { } initLatent && initLatent.Length != c * (height / f) * (width / f))
                throw new ArgumentException($"init latent of {initLatent.Length} values does not match {width}x{height} ([1,{c},{height / f},{width / f}])");
            return new GenerationRun(pipeline, request, units, width, height);
        }

        /// <summary>Phase 2: the text as [uncond; cond], so that the batch-2 UNet run sees the unconditional half first,
        /// and the context tokens of global units (computed once, scaled by their weight).</summary>
        public void EncodeText()
        {
            var conditioning = _family.Conditioning;
            _cond = conditioning.Encode(_model, _request.Prompt);
            var uncond = _useGuidance ? conditioning.Encode(_model, _request.NegativePrompt) : null;
            (_tokens, _dim) = (_cond.Tokens, _cond.Dim);
            _textContext = new float[_batch * _tokens * _dim];
            if (uncond is not null) uncond.Context.CopyTo(_textContext, 0);
            _cond.Context.CopyTo(_textContext, (_batch - 1) * _tokens * _dim);
            PromptConditioning[] batch = uncond is null ? [_cond] : [uncond, _cond];
            if (_cond.Pooled is { } pooled)
                _pooledTensor = new FloatTensor(batch.SelectMany(p => p.Pooled!).ToArray(), _batch, pooled.Length);
            _extraInputs = conditioning.ExtraInputs(batch, _width, _height);
            _unetExtras = _extraInputs.ToDictionary(e => e.Key, e => new Memory<float>(e.Value.Data));
            _contextTokens = _units.Select((u, i) => u.Branch is IContextBranch c && u.Weight != 0f ? ScaledTokens(c, u.Weight, _dim, i) : null).ToArray();
            if (Onnx.ExecutionDevice.LowMemory) _model.ReleaseTextEncoders();
        }

        /// <summary>Phase 3: pure noise, or the encoded init image noised to the first executed level.</summary>
        public void PrepareLatents()
        {
            _noise = _request.Noise is { } given ? (float[])given.Clone() : _rng.Normal(_latentLength);
            Latent = new float[_latentLength];
            if (_request.InitLatent is { } initLatent)
            {
                _clean = (float[])initLatent.Clone();
                FirstStep = _request.Steps - _request.StrengthSteps;
                _scheduler.AddNoise(_clean, _noise, FirstStep, Latent);
            }
            else if (_request.InitImage is { } init)
            {
                var fittedInit = ImageIo.Fit(init, _width, _height, ResizeMode.JustResize);
                _clean = _pipeline.EncodeImage(fittedInit, _h, _w);
                if (_request.Mask is { } mask)
                    _inpaint = Inpainting.Create(fittedInit, ImageIo.Fit(mask, _width, _height, ResizeMode.JustResize),
                        _inpaintingUnet ? chw => _pipeline.EncodeChw(chw, _height, _width, _h, _w) : null);
                FirstStep = _request.Steps - _request.StrengthSteps;
                _scheduler.AddNoise(MaskedStart(), _noise, FirstStep, Latent);
            }
            else
            {
                var sigma = (float)_scheduler.InitNoiseSigma;
                for (var i = 0; i < _latentLength; i++) Latent[i] = _noise[i] * sigma;
            }
        }

        /// <summary>The latent the schedule noises: the init image's, with the masked cells replaced where the request
        /// asks (the unmasked cells, which a plain UNet keeps on the init image's path, are never touched).</summary>
        private float[] MaskedStart()
        {
            if (_inpaint is null || _request.MaskedStart == MaskedLatentStart.Original) return _clean!;
            var start = (float[])_clean!.Clone();
            var fresh = _request.MaskedStart == MaskedLatentStart.Noise ? _rng.Normal(_latentLength) : null;
            var plane = _h * _w;
            for (var i = 0; i < start.Length; i++)
                if (_inpaint.LatentMask[i % plane] > 0) start[i] = fresh?[i] ?? 0f;
            return start;
        }

        /// <summary>Phase 4: the loop's buffers, allocated once, and the latent constraints in the order they apply.</summary>
        public void PrepareUnits()
        {
            _modelIn = new float[_batch * _latentLength];
            // An inpainting UNet reads 9 channels; ControlNets still read the 4-channel latents in _modelIn.
            _unetEntry = _model.Unet.InChannels * _h * _w;
            _unetIn = _inpaintingUnet ? new float[_batch * _unetEntry] : _modelIn;
            _modelOut = new float[_batch * _latentLength];
            _guided = new float[_latentLength];
            _blurredReferences = new float[]?[_units.Count];
            _sampleTensor = new FloatTensor(_modelIn, _batch, _channels, _h, _w);
            _textTensor = new FloatTensor(_textContext, _batch, _tokens, _dim);
            _latentTensor = new FloatTensor(Latent, 1, _channels, _h, _w);
            if (_layout is not null && _units.Any(u => u.Branch is IResidualBranch))
            {
                var shapes = Enumerable.Range(0, _layout.Count).Select(i => _layout.Shape(i, _batch, _h, _w)).ToArray();
                _sums = shapes.Select(s => new float[s[0] * s[1] * s[2] * s[3]]).ToArray();
                _scratch = shapes.Select(s => new float[s[0] * s[1] * s[2] * s[3]]).ToArray();
                _scratchTensors = _scratch.Select((b, i) => new FloatTensor(b, shapes[i])).ToArray();
                _sumSlices = _sums.Select(s => new Memory<float>(s)).ToArray();
            }
            // A plain UNet inpaints through a latent constraint; it applies before the units' own constraints.
            if (_inpaint is not null && !_inpaintingUnet)
                _constraints.Add((-1, new KeepUnmaskedConstraint(_inpaint.LatentMask, _clean!, _noise)));
            for (var u = 0; u < _units.Count; u++)
                if (_units[u].Branch is ILatentBranch latentBranch) _constraints.Add((u, latentBranch));
            _addNoiseAtLevel = (clean, n, dest) => _scheduler.AddNoise(clean, n, _noiseLevel, dest);
        }

        /// <summary>Phase 5: one step.</summary>
        public void Step(int step)
        {
            var t = _scheduler.Timesteps[step];
            for (var b = 0; b < _batch; b++) _scheduler.ScaleModelInput(Latent, _modelIn.AsSpan(b * _latentLength, _latentLength), step);
            if (_inpaintingUnet)
                for (var b = 0; b < _batch; b++)
                    _inpaint!.FillUnetInput(_modelIn.AsSpan(b * _latentLength, _latentLength), _unetIn.AsSpan(b * _unetEntry, _unetEntry));
            var residuals = SumResiduals(step, t) ? _sumSlices : null;
            UpdateContext(step);
            RunUnet(t, residuals);
            ApplyColourFixes(step);
            Guide();
            _scheduler.Step(_guided, step, Latent, _rng);
            ApplyConstraints(step);
        }

        /// <summary>Residual branches: each active unit computes into scratch, the engine masks, scales and sums.</summary>
        private bool SumResiduals(int step, double t)
        {
            if (_sums is null) return false;
            var any = false;
            foreach (var s in _sums) Array.Clear(s);
            for (var u = 0; u < _units.Count; u++)
            {
                if (_units[u].Branch is not IResidualBranch branch || !_units[u].IsActive(step, _request.Steps)) continue;
                var request = new ResidualRequest(_sampleTensor, (float)t, _textTensor, step, _request.Steps)
                {
                    Family = _family.Id, PooledEmbeddings = _pooledTensor, ExtraInputs = _extraInputs,
                };
                RunBranch(u, _units[u], () => branch.Compute(request, _scratchTensors!));
                if (_units[u].Mask is { } mask) ApplyMask(mask, _scratchTensors!);
                AddScaled(_units[u], _scratch!, _sums, _batch, _family == Families.ModelFamily.Sdxl);
                any = true;
            }
            return any;
        }

        /// <summary>
        /// Context tokens of active global units go after the conditional text. Which units are active is compared
        /// as a set step to step: the context is rebuilt only on a change.
        /// </summary>
        private void UpdateContext(int step)
        {
            _activeNow.Clear();
            for (var u = 0; u < _units.Count; u++)
                if (_contextTokens[u] is not null && _units[u].IsActive(step, _request.Steps)) _activeNow.Add(u);
            if (_activeNow.SequenceEqual(_activeBefore)) return;
            _condContext = _activeNow.Count == 0 ? null : _cond.Context.Concat(_activeNow.SelectMany(u => _contextTokens[u]!)).ToArray();
            (_activeBefore, _activeNow) = (_activeNow, _activeBefore);
        }

        private void RunUnet(double t, Memory<float>[]? residuals)
        {
            var unet = _model.Unet;
            if (_condContext is null)
            {
                unet.Run(_unetIn, _batch, _h, _w, t, _textContext, _tokens, _dim, residuals, _modelOut, _unetExtras);
                return;
            }
            // Different token counts cannot share a batch: run the halves one by one.
            var condTokens = _condContext.Length / _dim;
            if (_useGuidance)
                unet.Run(_unetIn, 1, _h, _w, t, _textContext, _tokens, _dim, Half(residuals, _layout, 0, _h, _w), _modelOut, EntryExtras(0));
            unet.Run(_unetIn.AsMemory((_batch - 1) * _unetEntry), 1, _h, _w, t, _condContext, condTokens, _dim,
                Half(residuals, _layout, _batch - 1, _h, _w), _modelOut.AsMemory((_batch - 1) * _latentLength), EntryExtras(_batch - 1));
        }

        /// <summary>
        /// Tile colour fixes of the active units, on each half of the batch before guidance (where the extension makes
        /// them, inside the UNet's forward): the clean estimate's low frequencies replaced by the hint latent's, the
        /// output moved toward it by the unit's weight.
        /// </summary>
        private void ApplyColourFixes(int step)
        {
            for (var u = 0; u < _units.Count; u++)
            {
                if (_units[u].ColourFix is not { } fix || !_units[u].IsActive(step, _request.Steps)) continue;
                if (fix.Reference.Length != _latentLength)
                    throw new ArgumentException($"{_units[u].Branch.Name}: the colour fix's latent has {fix.Reference.Length} values, the generation's {_latentLength}");
                var reference = _blurredReferences[u] ??= ColourFix.Blur(fix.Reference, _channels, _h, _w, fix.Radius);
                var weight = Math.Clamp(_units[u].Weight, 0f, 1f);
                var estimate = new float[_latentLength];
                var corrected = new float[_latentLength];
                for (var b = 0; b < _batch; b++)
                {
                    var output = _modelOut.AsSpan(b * _latentLength, _latentLength);
                    _scheduler.Denoised(output, step, Latent, estimate);
                    var own = ColourFix.Blur(estimate, _channels, _h, _w, fix.Radius);
                    for (var i = 0; i < estimate.Length; i++) estimate[i] += reference[i] - own[i];
                    // "+sharp": the unconditional estimate loses some detail, so guidance pushes toward more.
                    if (fix.Sharpness is { } sharpness && _useGuidance && b == 0)
                    {
                        var detail = (float)(sharpness * 0.01);
                        var blurred = ColourFix.Blur(estimate, _channels, _h, _w, fix.Radius);
                        for (var i = 0; i < estimate.Length; i++) estimate[i] = detail * blurred[i] + (1 - detail) * estimate[i];
                    }
                    _scheduler.ModelOutputFor(estimate, step, Latent, corrected);
                    for (var i = 0; i < output.Length; i++) output[i] = weight * corrected[i] + (1 - weight) * output[i];
                }
            }
        }

        /// <summary>The extra inputs of one batch entry (for the half-by-half runs).</summary>
        private Dictionary<string, Memory<float>> EntryExtras(int entry) =>
            _unetExtras.ToDictionary(e => e.Key, e => { var n = e.Value.Length / _batch; return e.Value.Slice(entry * n, n); });

        /// <summary>Classifier-free guidance: uncond + scale * (cond - uncond).</summary>
        private void Guide()
        {
            if (!_useGuidance)
            {
                _modelOut.AsSpan(0, _latentLength).CopyTo(_guided);
                return;
            }
            var un = _modelOut.AsSpan(0, _latentLength);
            var co = _modelOut.AsSpan(_latentLength, _latentLength);
            TensorPrimitives.Subtract(co, un, _guided);
            TensorPrimitives.MultiplyAdd(_guided, (float)_request.CfgScale, un, _guided);
        }

        /// <summary>Latent constraints after the scheduler step, at the level the latent is at now.</summary>
        private void ApplyConstraints(int step)
        {
            if (_constraints.Count == 0) return;
            _noiseLevel = step + 1;
            var request = new LatentRequest(_latentTensor, step, _request.Steps, _addNoiseAtLevel);
            foreach (var (unit, branch) in _constraints)
            {
                if (unit < 0) branch.Constrain(request);
                else RunBranch(unit, _units[unit], () => branch.Constrain(request));
            }
        }

        /// <summary>Phase 6: the latent through the VAE decoder.</summary>
        public RgbImage Decode() => _pipeline.Decode(Latent, _h, _w);

        /// <summary>Phase 7: inpainting blends the decoded image back into the init image with the pixel mask.</summary>
        public RgbImage Composite(RgbImage decoded) => _inpaint is null ? decoded : _inpaint.Blend(decoded);
    }

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
    private static void AddScaled(ControlUnit unit, float[][] scratch, float[][] sums, int batch, bool sdxl)
    {
        var n = scratch.Length;
        for (var i = 0; i < n; i++)
        {
            var scale = unit.Mode == ControlMode.Balanced ? unit.Weight : unit.Weight * (float)SoftInjection(i, n, sdxl);
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
    /// block): SD 1.x has 13 and uses 0.825^(12-i); SDXL's 10 take the first 10 of those factors, as the extension
    /// truncates the list (<paramref name="sdxl"/>); other UNets map their index onto that range linearly.
    /// </summary>
    public static double SoftInjection(int i, int count, bool sdxl = false)
    {
        var sdIndex = sdxl ? i : count <= 1 ? 12.0 : i * 12.0 / (count - 1);
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

    /// <summary>The image's scaled VAE latent (the mean), [1,4,H/8,W/8]: what img2img and inpainting start from.</summary>
    public float[] EncodeLatent(RgbImage image) => EncodeImage(image, image.Height / 8, image.Width / 8);

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
