using System.Collections.Concurrent;
using ControlHost.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ControlHost.Application.Upscaling;

/// <summary>
/// A user's ESRGAN-type upscaler exported to ONNX: one image input [1,3,H,W] in 0..1, one output [1,3,sH,sW]. Run in
/// tiles with a margin of context around each (the margin's output is dropped), so that memory stays bounded on large
/// images and tiles meet without seams for networks that look no further than the margin.
/// </summary>
internal sealed class OnnxUpscaler
{
    private const int Tile = 256, Margin = 16;
    private static readonly ConcurrentDictionary<string, Lazy<OnnxUpscaler>> Loaded = new();
    private readonly InferenceSession _session;
    private readonly string _input;

    private OnnxUpscaler(string file)
    {
        File = file;
        try
        {
            _session = new InferenceSession(file, new SessionOptions { IntraOpNumThreads = Math.Min(4, Environment.ProcessorCount) });
        }
        catch (OnnxRuntimeException e)
        {
            throw new ArgumentException($"upscaler '{Path.GetFileName(file)}' is not an ONNX model ONNX Runtime can load ({e.Message.Split('\n')[0]})", e);
        }
        var inputs = _session.InputMetadata.Where(i => i.Value.ElementType == typeof(float) && i.Value.Dimensions.Length == 4).ToList();
        if (inputs.Count != 1) throw new ArgumentException($"upscaler '{Path.GetFileName(file)}': expected one float image input [1,3,H,W]");
        _input = inputs[0].Key;
    }

    public string File { get; }

    public static OnnxUpscaler Load(string file) => Loaded.GetOrAdd(Path.GetFullPath(file), f => new Lazy<OnnxUpscaler>(() => new OnnxUpscaler(f))).Value;

    /// <summary>The image enlarged by the network's own factor.</summary>
    public RgbImage Run(RgbImage image, CancellationToken cancellation = default)
    {
        RgbImage? result = null;
        var scale = 0;
        for (var y0 = 0; y0 < image.Height; y0 += Tile)
            for (var x0 = 0; x0 < image.Width; x0 += Tile)
            {
                cancellation.ThrowIfCancellationRequested();
                int w = Math.Min(Tile, image.Width - x0), h = Math.Min(Tile, image.Height - y0);
                int px = Math.Max(0, x0 - Margin), py = Math.Max(0, y0 - Margin);
                int pw = Math.Min(image.Width, x0 + w + Margin) - px, ph = Math.Min(image.Height, y0 + h + Margin) - py;
                var (output, ow, oh) = RunTile(image, px, py, pw, ph);
                var s = ow / pw;
                if (s < 1 || ow != pw * s || oh != ph * s)
                    throw new ArgumentException($"upscaler '{Path.GetFileName(File)}': a {pw}x{ph} tile came out {ow}x{oh}, not a whole multiple");
                if (result is null)
                {
                    scale = s;
                    result = new RgbImage(image.Width * s, image.Height * s, new byte[image.Width * s * image.Height * s * 3]);
                }
                // Keep the tile's own region, dropping the margin's output.
                for (var y = 0; y < h * scale; y++)
                    for (var x = 0; x < w * scale; x++)
                    {
                        int sx = (x0 - px) * scale + x, sy = (y0 - py) * scale + y;
                        int dst = ((y0 * scale + y) * result.Width + x0 * scale + x) * 3;
                        for (var c = 0; c < 3; c++)
                            result.Pixels[dst + c] = (byte)Math.Clamp(MathF.Round(output[c * ow * oh + sy * ow + sx] * 255f), 0, 255);
                    }
            }
        return result ?? image;
    }

    private (float[] Data, int Width, int Height) RunTile(RgbImage image, int x0, int y0, int w, int h)
    {
        var input = new DenseTensor<float>([1, 3, h, w]);
        var span = input.Buffer.Span;
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                for (var c = 0; c < 3; c++)
                    span[c * w * h + y * w + x] = image.Pixels[((y0 + y) * image.Width + x0 + x) * 3 + c] / 255f;
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_input, input)]);
        var first = results.First();
        if (first.Value is not DenseTensor<float> output || output.Dimensions.Length != 4 || output.Dimensions[1] != 3)
            throw new ArgumentException($"upscaler '{Path.GetFileName(File)}': the first output is not a float image [1,3,H,W]");
        return (output.ToArray(), output.Dimensions[3], output.Dimensions[2]);
    }
}
