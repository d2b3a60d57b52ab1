using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Scheduling;
using ControlHost.Engine.Text;

namespace ControlHost.Engine.Components;

/// <summary>
/// A loaded base model: sessions created once and reused, plus a cache of ControlNet and adapter sessions so that
/// units using the same files share one session. Safe to use from several generations at once: the caches are
/// locked, and each session serialises its own bound runs.
/// </summary>
public sealed class StableDiffusionModel : IDisposable
{
    private readonly Dictionary<string, ControlNetModel> _controlNets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, OnnxModel> _adapters = new(StringComparer.Ordinal);
    private VaeModel? _vaeEncoder;

    private StableDiffusionModel(ModelFolder folder, ExecutionDevice device, ModelAdditions additions)
    {
        Folder = folder;
        Device = device;
        Additions = additions;
        var tokenizer = ClipTokenizer.FromFolder(folder.TokenizerDir);
        Tokenizer = additions.EmbeddingWords.Count > 0 ? tokenizer.WithEmbeddings(additions.EmbeddingWords) : tokenizer;
        Schedule = File.Exists(folder.SchedulerConfig) ? NoiseSchedule.FromConfig(folder.SchedulerConfig) : new NoiseSchedule();
        _textEncoder = LoadTextEncoder(folder.TextEncoder, additions.TextEncoder);
        if (File.Exists(folder.TextEncoder2))
        {
            _textEncoder2 = LoadTextEncoder(folder.TextEncoder2, additions.TextEncoder2);
            var second = ClipTokenizer.FromFolder(folder.Tokenizer2Dir);
            // The same embedding words at the same ids: the second encoder's rows hold the embeddings' clip_g vectors.
            Tokenizer2 = additions.EmbeddingWords.Count > 0 ? second.WithEmbeddings(additions.EmbeddingWords) : second;
        }
        Unet = new UNetModel(OnnxModel.Load(folder.Unet, device, additions.Unet, additions.LiveWeights), folder.UnetConfig);
        VaeDecoder = new VaeModel(OnnxModel.Load(folder.VaeDecoder, device));
        LatentScale = folder.LatentScale;
    }

    public ModelFolder Folder { get; }
    public ExecutionDevice Device { get; }
    public ClipTokenizer Tokenizer { get; }
    public NoiseSchedule Schedule { get; }
    private TextEncoderModel? _textEncoder, _textEncoder2;
    private readonly Lock _textLock = new();

    private TextEncoderModel LoadTextEncoder(string path, IReadOnlyList<WeightOverride> overrides) =>
        new(OnnxModel.Load(path, Device, overrides, Additions.LiveWeights));

    /// <summary>The text encoder (loaded again after <see cref="ReleaseTextEncoders"/>).</summary>
    public TextEncoderModel TextEncoder
    {
        get { lock (_textLock) return _textEncoder ??= LoadTextEncoder(Folder.TextEncoder, Additions.TextEncoder); }
    }

    /// <summary>SDXL's second text encoder (OpenCLIP bigG) and its tokenizer; null for SD 1.x and 2.x.</summary>
    public TextEncoderModel? TextEncoder2
    {
        get
        {
            if (Tokenizer2 is null) return null;
            lock (_textLock) return _textEncoder2 ??= LoadTextEncoder(Folder.TextEncoder2, Additions.TextEncoder2);
        }
    }

    /// <summary>
    /// Lets the text encoders' sessions go until the next prompt (<see cref="ExecutionDevice.LowMemory"/>: SDXL's two
    /// hold 3.3 GB of float32 weights that the denoising loop does not use). Meant for one generation at a time.
    /// </summary>
    public void ReleaseTextEncoders()
    {
        lock (_textLock)
        {
            _textEncoder?.Dispose();
            _textEncoder2?.Dispose();
            (_textEncoder, _textEncoder2) = (null, null);
        }
    }

    public ClipTokenizer? Tokenizer2 { get; }
    public UNetModel Unet { get; }
    public VaeModel VaeDecoder { get; }
    public double LatentScale { get; }
    public string Name => Folder.Name;

    /// <summary>The model's family: what the loop asks about conditioning and the latent.</summary>
    public Families.ModelFamily Family => Folder.Family;

    /// <exception cref="ModelLoadException">A part is not a loadable ONNX model.</exception>
    /// <exception cref="InvalidDataException">The folder is not a model folder.</exception>
    public static StableDiffusionModel Load(ModelFolder folder, ExecutionDevice device) => new(folder, device, ModelAdditions.None);

    /// <summary>Loads a model with LoRA-merged weights and textual-inversion rows in place of the file's.</summary>
    public static StableDiffusionModel Load(ModelFolder folder, ExecutionDevice device, ModelAdditions additions) => new(folder, device, additions);

    /// <summary>What was merged into this model's weights (none for a plain folder).</summary>
    public ModelAdditions Additions { get; }

    /// <summary>The VAE encoder, loaded on first use (only img2img and inpainting need it).</summary>
    public VaeModel VaeEncoder
    {
        get
        {
            lock (_controlNets)
            {
                if (_vaeEncoder is not null) return _vaeEncoder;
                if (!File.Exists(Folder.VaeEncoder))
                    throw new InvalidDataException($"{Folder.Root}: vae_encoder/model.onnx is missing; img2img needs it");
                return _vaeEncoder = new VaeModel(OnnxModel.Load(Folder.VaeEncoder, Device));
            }
        }
    }

    /// <summary>The shared session of a ControlNet folder, checked against this UNet.</summary>
    public ControlNetModel ControlNet(ControlNetFolder folder)
    {
        lock (_controlNets) return LoadControlNet(folder);
    }

    private ControlNetModel LoadControlNet(ControlNetFolder folder)
    {
        if (_controlNets.TryGetValue(folder.ModelPath, out var cached)) return cached;
        if (folder.Family is { } family && family != Folder.Family)
            throw new InvalidOperationException(
                $"ControlNet '{folder.Name}' is made for {family.Name} models and '{Folder.Name}' is an {Folder.Family.Name} model; " +
                $"use a ControlNet for {Folder.Family.Name} (or an {family.Name} model)");
        var layout = Unet.Residuals ?? throw new InvalidOperationException(
            $"ControlNet '{folder.Name}' needs a UNet with ControlNet residual inputs; {Folder.Unet} has none " +
            "(export the UNet with down_block_i_additional_residual and mid_block_additional_residual inputs)");
        var model = OnnxModel.Load(folder.ModelPath, Device);
        try
        {
            return _controlNets[folder.ModelPath] = new ControlNetModel(model, layout);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The shared session of an adapter folder.</summary>
    public OnnxModel Adapter(AdapterFolder folder)
    {
        lock (_controlNets)
        {
            if (_adapters.TryGetValue(folder.ModelPath, out var cached)) return cached;
            return _adapters[folder.ModelPath] = OnnxModel.Load(folder.ModelPath, Device);
        }
    }

    /// <summary>Every session this model has opened (a snapshot).</summary>
    public IReadOnlyList<OnnxModel> Sessions
    {
        get
        {
            lock (_controlNets)
                return new[] { Unet.Model, VaeDecoder.Model }
                    .Concat(_textEncoder is null ? [] : [_textEncoder.Model])
                    .Concat(_textEncoder2 is null ? [] : [_textEncoder2.Model])
                    .Concat(_vaeEncoder is null ? [] : [_vaeEncoder.Model])
                    .Concat(_controlNets.Values.Select(c => c.Model))
                    .Concat(_adapters.Values).ToArray();
        }
    }

    /// <summary>
    /// The bytes of the weights this model has loaded: each session's file plus the external-data files beside it.
    /// ONNX Runtime holds about this much per session; the model pool budgets with it.
    /// </summary>
    public long LoadedBytes => Sessions.Sum(s => WeightBytes(s.Path)) + Additions.Bytes;

    private static long WeightBytes(string onnxPath)
    {
        var file = new FileInfo(onnxPath);
        long total = file.Exists ? file.Length : 0;
        if (file.Directory is { Exists: true } dir)
            foreach (var f in dir.EnumerateFiles())
                if (f.Extension is ".onnx_data" or ".data" or ".pb" || f.Name.EndsWith(".onnx.data", StringComparison.Ordinal)) total += f.Length;
        return total;
    }

    public void Dispose()
    {
        _textEncoder?.Dispose();
        _textEncoder2?.Dispose();
        Unet.Dispose();
        VaeDecoder.Dispose();
        _vaeEncoder?.Dispose();
        foreach (var c in _controlNets.Values) c.Dispose();
        foreach (var a in _adapters.Values) a.Dispose();
    }
}
