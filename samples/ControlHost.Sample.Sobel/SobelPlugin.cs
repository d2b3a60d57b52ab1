using ControlHost.Abstractions;

namespace ControlHost.Sample.Sobel;

/// <summary>Registers the sobel condition type.</summary>
public sealed class SobelPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new SobelCondition());
}

/// <summary>
/// Sobel gradient magnitude of the grey image, thresholded to white-on-black edges: close enough to a Canny map
/// that it drives Canny ControlNets (ModelCondition "canny"), with thicker, unthinned edges.
/// </summary>
public sealed class SobelCondition : IConditionType
{
    public string Id => "sobel";
    public IReadOnlyList<string> Aliases => [];
    public string Description => "Sobel edges (gradient magnitude over a threshold), for Canny ControlNets";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => [new("threshold", OptionKind.Number, "80", 1, 1442, "gradient magnitude that counts as an edge")];
    public string ModelCondition => "canny";

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation)
    {
        var threshold = options.GetDouble("threshold");
        int w = input.Width, h = input.Height;
        var grey = new double[w * h];
        for (var i = 0; i < grey.Length; i++)
            grey[i] = 0.299 * input.Pixels[3 * i] + 0.587 * input.Pixels[3 * i + 1] + 0.114 * input.Pixels[3 * i + 2];
        double At(int x, int y) => grey[Math.Clamp(y, 0, h - 1) * w + Math.Clamp(x, 0, w - 1)];
        var output = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            cancellation.ThrowIfCancellationRequested();
            for (var x = 0; x < w; x++)
            {
                var gx = At(x + 1, y - 1) + 2 * At(x + 1, y) + At(x + 1, y + 1) - At(x - 1, y - 1) - 2 * At(x - 1, y) - At(x - 1, y + 1);
                var gy = At(x - 1, y + 1) + 2 * At(x, y + 1) + At(x + 1, y + 1) - At(x - 1, y - 1) - 2 * At(x, y - 1) - At(x + 1, y - 1);
                if (Math.Sqrt(gx * gx + gy * gy) >= threshold)
                    output[(y * w + x) * 3] = output[(y * w + x) * 3 + 1] = output[(y * w + x) * 3 + 2] = 255;
            }
        }
        return ConditionHint.FromImage(new RgbImage(w, h, output));
    }
}
