using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Pipeline;

/// <summary>
/// One inpainting generation's fixed inputs: the mask at latent resolution (a cell is generated when any of its 8x8
/// pixels is), the VAE latents of the image with those cells blanked (what a 9-channel inpainting UNet reads next to
/// the noisy latents, in diffusers' order: latents 4, mask 1, masked-image latents 4), and the init image and pixel
/// mask for the final blend, which leaves every pixel the mask does not touch exactly as it was.
/// </summary>
internal sealed class Inpainting
{
    private readonly RgbImage _init;
    private readonly byte[] _pixelMask; // width x height, 0 = keep, 255 = generate

    private Inpainting(RgbImage init, byte[] pixelMask, float[] latentMask)
    {
        _init = init;
        _pixelMask = pixelMask;
        LatentMask = latentMask;
    }

    /// <summary>h x w, 1 where the latent is generated.</summary>
    public float[] LatentMask { get; }

    /// <summary>4 x h x w latents of the init image with the masked cells blanked (set for 9-channel UNets).</summary>
    public float[]? MaskedLatents { get; private set; }

    /// <param name="init">The init image, already fitted to the generation size.</param>
    /// <param name="mask">The mask, already fitted to the generation size.</param>
    /// <param name="encode">VAE encoder: [1,3,H,W] signed pixels -> scaled latents [4*h*w]; null when not needed.</param>
    public static Inpainting Create(RgbImage init, RgbImage mask, Func<float[], float[]>? encode)
    {
        int width = init.Width, height = init.Height, h = height / 8, w = width / 8;
        var pixelMask = new byte[width * height];
        var latentMask = new float[h * w];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var v = mask.Pixels[(y * width + x) * 3];
                pixelMask[y * width + x] = v;
                if (v >= 128) latentMask[y / 8 * w + x / 8] = 1f;
            }
        var inpainting = new Inpainting(init, pixelMask, latentMask);
        if (encode is not null)
        {
            // Blank whole masked cells (0 in [-1, 1] is mid grey), as the inpainting UNet was trained.
            var chw = ImageIo.ToChw(init, signed: true);
            var plane = width * height;
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                    if (latentMask[y / 8 * w + x / 8] > 0)
                        for (var c = 0; c < 3; c++) chw[c * plane + y * width + x] = 0f;
            inpainting.MaskedLatents = encode(chw);
        }
        return inpainting;
    }

    /// <summary>One batch entry of the 9-channel UNet input: the scaled noisy latents, the mask, the masked latents.</summary>
    public void FillUnetInput(ReadOnlySpan<float> latents, Span<float> destination)
    {
        latents.CopyTo(destination);
        LatentMask.CopyTo(destination[latents.Length..]);
        MaskedLatents.AsSpan().CopyTo(destination[(latents.Length + LatentMask.Length)..]);
    }

    /// <summary>The generated image where the mask is white, the init image where it is black, blended between.</summary>
    public RgbImage Blend(RgbImage generated)
    {
        var pixels = new byte[generated.Pixels.Length];
        for (var i = 0; i < _pixelMask.Length; i++)
        {
            var a = _pixelMask[i];
            for (var c = 0; c < 3; c++)
            {
                var k = 3 * i + c;
                pixels[k] = a switch
                {
                    0 => _init.Pixels[k],
                    255 => generated.Pixels[k],
                    _ => (byte)((generated.Pixels[k] * a + _init.Pixels[k] * (255 - a) + 127) / 255),
                };
            }
        }
        return new RgbImage(generated.Width, generated.Height, pixels);
    }
}
