namespace ControlHost.Engine.Conditioning;

/// <summary>
/// sd-webui-controlnet's tile colour fix: at each step of the unit's window the model's clean estimate keeps its own
/// detail (itself minus its blur) on the low frequencies of the hint's latent (the hint's blur), so a tile ControlNet
/// cannot drift the colours. The blur is a (2k+1)-square box average with the edges repeated. With
/// <see cref="Sharpness"/> the unconditional half's estimate is blurred by that fraction as well (the "+sharp"
/// module), which guidance turns into sharper detail. The engine converts between the model output and the clean
/// estimate with the sampler's own formulas, so epsilon and v-prediction models are both handled.
/// Facts from the extension's hook.py: the box blur with replicate padding, detail weight = sharpness x 0.01, the
/// corrected output mixed in by the unit's weight clamped to [0, 1].
/// </summary>
/// <param name="Reference">The hint's VAE latent, [1,4,h,w] at the generation's latent size.</param>
/// <param name="Radius">k, the extension's "variation" (3 to 32, default 8).</param>
/// <param name="Sharpness">The "+sharp" module's sharpness (0 to 2), or null for the plain colour fix.</param>
public sealed record ColourFix(float[] Reference, int Radius, double? Sharpness = null)
{
    /// <summary>A box average of radius <paramref name="k"/> over each of the planes of <paramref name="source"/>,
    /// edges repeated (separable: rows, then columns).</summary>
    public static float[] Blur(ReadOnlySpan<float> source, int channels, int height, int width, int k)
    {
        var result = new float[source.Length];
        var rows = new float[height * width];
        var n = 2 * k + 1;
        for (var c = 0; c < channels; c++)
        {
            var plane = source.Slice(c * height * width, height * width);
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    double sum = 0;
                    for (var d = -k; d <= k; d++) sum += plane[y * width + Math.Clamp(x + d, 0, width - 1)];
                    rows[y * width + x] = (float)(sum / n);
                }
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    double sum = 0;
                    for (var d = -k; d <= k; d++) sum += rows[Math.Clamp(y + d, 0, height - 1) * width + x];
                    result[c * height * width + y * width + x] = (float)(sum / n);
                }
        }
        return result;
    }
}
