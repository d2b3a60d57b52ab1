using ControlHost.Checkpoints.Import;
using ControlHost.Checkpoints.Lora;
using ControlHost.Checkpoints.Onnx;
using ControlHost.Checkpoints.Safetensors;
using ControlHost.Checkpoints.Sd1;

namespace ControlHost.Checkpoints.Additions;

/// <summary>
/// Every weight a LoRA can reach in a checkpoint's UNet and text encoder, held in buffers that the sessions read in
/// place (ONNX Runtime takes them as initializers without copying when pre-packing is off). Switching the LoRA set
/// rewrites only the weights the old or the new set touches: base + the new deltas, read from the memory-mapped file.
/// No session is created and no graph is built for a switch. Not thread-safe: the caller serialises switches and the
/// generations that use the buffers.
/// </summary>
public sealed class LiveLoraWeights : IDisposable
{
    private readonly CheckpointWeights _checkpoint;
    private readonly LoraMerge _merge = new();
    private readonly List<Weight> _unetWeights;
    private readonly List<Weight> _textWeights;
    private readonly List<Weight> _text2Weights;
    private HashSet<string> _applied = new(StringComparer.Ordinal);

    private LiveLoraWeights(string checkpointPath)
    {
        _checkpoint = CheckpointWeights.Open(checkpointPath);
        var targetable = LoraFile.TargetsOf(_checkpoint).Values.Select(t => t.Weight).ToHashSet(StringComparer.Ordinal);
        var weights = _checkpoint.Weights.With(_merge);
        List<Weight> Reachable(OnnxGraph graph) => graph.Weights.Where(w => targetable.Contains(w.Source)).ToList();
        // The graphs the importer builds, so the buffers' names are the built files' initializer names.
        _unetWeights = Reachable(CheckpointImporter.UnetGraph(weights, _checkpoint.Family));
        var text = CheckpointImporter.TextEncoderGraphs(weights, _checkpoint.Family, _checkpoint.TextPrefix).ToList();
        _textWeights = Reachable(text[0].Graph());
        _text2Weights = text.Count > 1 ? Reachable(text[1].Graph()) : [];
        Unet = Buffers(_unetWeights);
        TextEncoder = Buffers(_textWeights);
        TextEncoder2 = Buffers(_text2Weights);
    }

    private static List<ReplacementWeight> Buffers(List<Weight> weights) => weights.Select(w => new ReplacementWeight(w.Name, w.Values(), w.Shape)).ToList();

    /// <summary>Reads every LoRA-reachable weight of the checkpoint into buffers (the base values, no LoRA yet).</summary>
    public static LiveLoraWeights Open(string checkpointPath) => new(checkpointPath);

    /// <summary>The buffers the UNet session takes in place of its file's weights.</summary>
    public IReadOnlyList<ReplacementWeight> Unet { get; }

    /// <summary>The buffers the text-encoder session takes in place of its file's weights.</summary>
    public IReadOnlyList<ReplacementWeight> TextEncoder { get; }

    /// <summary>The same for SDXL's second text encoder (empty for other families).</summary>
    public IReadOnlyList<ReplacementWeight> TextEncoder2 { get; }

    /// <summary>The LoRA set the buffers hold now ("" for none).</summary>
    public string CurrentKey { get; private set; } = "";

    /// <summary>What applying the current set said (unmatched modules) and read.</summary>
    public IReadOnlyList<string> Warnings { get; private set; } = [];
    public IReadOnlyList<LoraReading> Loras { get; private set; } = [];

    /// <summary>Puts a LoRA set into the buffers, in place.</summary>
    /// <exception cref="CheckpointException">A LoRA that does not fit the checkpoint; the buffers keep the set they had.</exception>
    public void Apply(IReadOnlyList<LoraChoice> loras, string key)
    {
        if (key == CurrentKey) return;
        var readings = loras.Select(l => LoraFile.Read(l.Path, _checkpoint, l.Weight)).ToList();
        _merge.Clear();
        foreach (var d in readings.SelectMany(r => r.Deltas)) _merge.Add(d);
        var now = _merge.Targets.ToHashSet(StringComparer.Ordinal);
        var touched = new HashSet<string>(_applied, StringComparer.Ordinal);
        touched.UnionWith(now);
        Rewrite(_unetWeights, Unet, touched);
        Rewrite(_textWeights, TextEncoder, touched);
        Rewrite(_text2Weights, TextEncoder2, touched);
        _applied = now;
        CurrentKey = key;
        Loras = readings;
        Warnings = readings.Where(r => r.Unmatched > 0).Select(r =>
            $"LoRA '{r.Name}': {r.Unmatched} of {r.Unmatched + r.Deltas.Count} modules match no weight of this checkpoint and were ignored").ToList();
    }

    private static void Rewrite(List<Weight> weights, IReadOnlyList<ReplacementWeight> buffers, HashSet<string> touched)
    {
        // Each weight is read, merged and transposed on its own: independent, so the cores share them.
        Parallel.For(0, weights.Count, i =>
        {
            if (touched.Contains(weights[i].Source)) weights[i].Values().CopyTo(buffers[i].Values, 0);
        });
    }

    public void Dispose() => _checkpoint.Dispose();
}
