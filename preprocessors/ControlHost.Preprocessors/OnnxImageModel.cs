using System.Collections.Concurrent;
using System.Text.Json;
using ControlHost.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>
/// A user-supplied image model in ONNX (depth, segmentation, pose estimators): one image input [1, 3, H, W], float.
/// Its input size and normalisation come from a json beside it (same name, .json):
/// <c>{"width": 384, "height": 384, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}</c>; without one, the input's
/// fixed size from the model (else 512) and mean 0 / std 1 on [0, 1] pixels. Sessions are cached per file.
/// </summary>
public sealed class OnnxImageModel
{
    private static readonly ConcurrentDictionary<string, Lazy<OnnxImageModel>> Cache = new();
    private readonly InferenceSession _session;
    private readonly string _input;

    private OnnxImageModel(string path)
    {
        Path = path;
        try
        {
            _session = new InferenceSession(path, new SessionOptions { IntraOpNumThreads = Math.Min(4, Environment.ProcessorCount) });
        }
        catch (OnnxRuntimeException e)
        {
            throw new ArgumentException($"'{path}' is not an ONNX model ONNX Runtime can load ({e.Message.Split('\n')[0]})", e);
        }
        var inputs = _session.InputMetadata.Where(i => i.Value.ElementType == typeof(float)).ToArray();
        if (inputs.Length != 1 || inputs[0].Value.Dimensions.Length != 4)
            throw new ArgumentException($"'{path}': expected one float image input [1, 3, H, W], found {string.Join(", ", _session.InputMetadata.Select(i => $"{i.Key} {string.Join('x', i.Value.Dimensions)}"))}");
        _input = inputs[0].Key;
        var dims = inputs[0].Value.Dimensions;
        var config = ReadConfig(System.IO.Path.ChangeExtension(path, ".json"));
        Width = config.Width ?? (dims[3] > 0 ? dims[3] : 512);
        Height = config.Height ?? (dims[2] > 0 ? dims[2] : 512);
        Mean = config.Mean ?? [0, 0, 0];
        Std = config.Std ?? [1, 1, 1];
    }

    public string Path { get; }
    public int Width { get; }
    public int Height { get; }
    public float[] Mean { get; }
    public float[] Std { get; }

    /// <summary>The model at <paramref name="path"/>, loaded once.</summary>
    /// <exception cref="ArgumentException">No such file, or not a usable model; the message says which.</exception>
    public static OnnxImageModel Load(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new ArgumentException("no model given");
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw new ArgumentException($"model file '{path}' does not exist");
        var lazy = Cache.GetOrAdd(full, p => new Lazy<OnnxImageModel>(() => new OnnxImageModel(p)));
        try
        {
            return lazy.Value;
        }
        catch
        {
            Cache.TryRemove(full, out _);
            throw;
        }
    }

    /// <summary>Runs the model on the image resized to its input size; returns the first output and its shape.</summary>
    public (float[] Data, int[] Shape) Run(RgbImage image)
    {
        var resized = Geometry.Resize(image, Width, Height);
        var plane = Width * Height;
        var input = new DenseTensor<float>([1, 3, Height, Width]);
        var span = input.Buffer.Span;
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
                span[c * plane + i] = (resized.Pixels[3 * i + c] / 255f - Mean[c]) / Std[c];
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_input, input)]);
        var first = results.First();
        if (first.Value is not DenseTensor<float> output)
            throw new ArgumentException($"'{Path}': the first output '{first.Name}' is not a float tensor");
        return (output.ToArray(), output.Dimensions.ToArray());
    }

    private sealed record Config(int? Width, int? Height, float[]? Mean, float[]? Std);

    private static Config ReadConfig(string path)
    {
        if (!File.Exists(path)) return new Config(null, null, null, null);
        try
        {
            var c = JsonSerializer.Deserialize<Config>(File.ReadAllText(path), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
                ?? new Config(null, null, null, null);
            if (c.Mean is { Length: not 3 } || c.Std is { Length: not 3 } || c.Std?.Any(s => s <= 0) == true || c.Width <= 0 || c.Height <= 0)
                throw new ArgumentException($"'{path}': mean and std need three values (std above 0), width and height above 0");
            return c;
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"'{path}' is not valid JSON ({e.Message})", e);
        }
    }

    /// <summary>A single-channel float map [h, w] to 8-bit, min-max normalised (flat maps become black).</summary>
    public static Mat NormaliseToBytes(float[] data, int height, int width, int targetWidth, int targetHeight)
    {
        using var map = Mat.FromPixelData(height, width, MatType.CV_32FC1, data);
        using var resized = new Mat();
        // Linear: cubic overshoots at sharp depth edges, which would steal the top of the 0-255 range.
        Cv2.Resize(map, resized, new Size(targetWidth, targetHeight), 0, 0, InterpolationFlags.Linear);
        Cv2.MinMaxLoc(resized, out double min, out double max);
        if (max - min < 1e-12) return new Mat(targetHeight, targetWidth, MatType.CV_8UC1, Scalar.All(0));
        var bytes = new Mat();
        resized.ConvertTo(bytes, MatType.CV_8U, 255 / (max - min), -min * 255 / (max - min));
        return bytes;
    }
}
