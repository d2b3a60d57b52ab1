using ControlHost.Engine.Models;
using ControlHost.Engine.Onnx;

namespace ControlHost.Engine.Components;

/// <summary>
/// Names, channels and downsampling factors of a UNet's ControlNet residual inputs (down_block_{i} then mid).
/// Spatial sizes are fixed by the latent size: static dimensions from the model when it declares them, else the
/// diffusers rule that the down path emits (layers_per_block + 1) residuals per resolution level.
/// </summary>
public sealed class ResidualLayout
{
    private ResidualLayout(string[] names, int[] channels, int[] factors)
    {
        Names = names;
        Channels = channels;
        Factors = factors;
    }

    /// <summary>Input names in the UNet's order: down 0..N-1, then mid.</summary>
    public IReadOnlyList<string> Names { get; }
    public IReadOnlyList<int> Channels { get; }

    /// <summary>How many times each residual's resolution is halved from the latent's.</summary>
    public IReadOnlyList<int> Factors { get; }

    public int Count => Names.Count;

    public static string DownName(int i) => $"down_block_{i}_additional_residual";
    public const string MidName = "mid_block_additional_residual";

    /// <summary>The layout of a UNet, or null when it has no residual inputs.</summary>
    public static ResidualLayout? FromUnet(OnnxModel unet, string? unetConfigPath)
    {
        var down = new List<TensorSpec>();
        for (var i = 0; unet.HasInput(DownName(i)); i++) down.Add(unet.Input(DownName(i)));
        if (down.Count == 0) return null;
        if (!unet.HasInput(MidName))
            throw new ModelLoadException(unet.Path, $"has {down.Count} down-block residual inputs but no '{MidName}'");
        var all = down.Append(unet.Input(MidName)).ToArray();
        foreach (var spec in all)
            if (spec.Rank != 4 || spec.Dimensions[1] <= 0)
                throw new ModelLoadException(unet.Path, $"residual input '{spec.Name}' is {spec.ShapeText}; [B,C,h,w] with a fixed C expected");
        var config = unetConfigPath is null ? null : JsonConfig.Read(unetConfigPath);
        var perLevel = (int)(config.Number("layers_per_block") ?? 2) + 1;
        var levels = Math.Max(1, (down.Count + perLevel - 1) / perLevel);
        var factors = new int[all.Length];
        for (var i = 0; i < down.Count; i++) factors[i] = Math.Min(i / perLevel, levels - 1);
        factors[^1] = levels - 1;
        return new ResidualLayout(all.Select(s => s.Name).ToArray(), all.Select(s => s.Dimensions[1]).ToArray(), factors);
    }

    /// <summary>The shape of residual <paramref name="i"/> for a batch and latent size (stride-2 convs round up).</summary>
    public int[] Shape(int i, int batch, int latentHeight, int latentWidth)
    {
        int h = latentHeight, w = latentWidth;
        for (var k = 0; k < Factors[i]; k++)
        {
            h = (h + 1) / 2;
            w = (w + 1) / 2;
        }
        return [batch, Channels[i], h, w];
    }
}
