using ControlHost.Application.Errors;
using ControlHost.Application.Upscaling;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Application.Generation;

/// <summary>Which passes of a hires-fix job a control unit takes part in (the extension's hr_option).</summary>
public enum HiresPass
{
    Both,
    LowResOnly,
    HighResOnly,
}

/// <summary>
/// A1111's hires fix for txt2img: the image is made at the job's size, upscaled (in the latent, or as an image), and
/// denoised again at the larger size from part of the way through the schedule. Null fields take the first pass's
/// values (steps, prompt, negative prompt, sampler).
/// </summary>
public sealed record HiresSpec
{
    /// <summary>A1111's default upscaler.</summary>
    public const string DefaultUpscaler = "Latent";

    /// <summary>The second pass's default denoising strength (A1111's API default for txt2img).</summary>
    public const double DefaultStrength = 0.75;

    /// <summary>hr_scale: 1..4 (A1111's slider), used when no resize is given.</summary>
    public double Scale { get; init; } = 2;

    /// <summary>hr_resize_x / hr_resize_y: a target size instead of a scale (0 or null: not given).</summary>
    public int? ResizeX { get; init; }
    public int? ResizeY { get; init; }

    public string Upscaler { get; init; } = DefaultUpscaler;

    /// <summary>hr_second_pass_steps: null or 0 takes the first pass's steps.</summary>
    public int? Steps { get; init; }

    /// <summary>denoising_strength of the second pass.</summary>
    public double? Strength { get; init; }

    public string? Prompt { get; init; }
    public string? NegativePrompt { get; init; }
    public string? Sampler { get; init; }

    /// <summary>The latent upscale modes by A1111's names, then the image upscalers.</summary>
    public static IReadOnlyList<(string Name, LatentUpscaleMode Mode)> LatentModes { get; } =
    [
        ("Latent", LatentUpscaleMode.Bilinear), ("Latent (antialiased)", LatentUpscaleMode.BilinearAntialiased),
        ("Latent (bicubic)", LatentUpscaleMode.Bicubic), ("Latent (bicubic antialiased)", LatentUpscaleMode.BicubicAntialiased),
        ("Latent (nearest)", LatentUpscaleMode.Nearest), ("Latent (nearest-exact)", LatentUpscaleMode.NearestExact),
    ];

    public static IEnumerable<string> UpscalerNames => UpscalerNamesWith([]);

    /// <summary>The latent modes, the built-in image upscalers, and users' upscaler files by stem.</summary>
    public static IEnumerable<string> UpscalerNamesWith(IEnumerable<string> files) => LatentModes.Select(m => m.Name).Concat(Upscalers.NamesWith(files));

    /// <summary>The upscaler by name: a latent mode, or an image upscaler's canonical name.</summary>
    /// <exception cref="NotFoundException">Neither; the message lists every kind.</exception>
    public (LatentUpscaleMode? Latent, string Image) Resolve(IReadOnlyList<string> files)
    {
        foreach (var (name, mode) in LatentModes)
            if (string.Equals(name, Upscaler, StringComparison.OrdinalIgnoreCase)) return (mode, name);
        return Upscalers.Canonical(Upscaler, files) is { } image ? (null, image)
            : throw new NotFoundException("hr_upscaler", "upscaler", Upscaler, UpscalerNamesWith(files), Upscalers.WhereFilesGo);
    }

    /// <summary>
    /// The second pass's size, and how much to crop off it, by A1111's rules: a scale of the first pass's size, or a
    /// resize to one side (the other kept in proportion), or to both (scaled to cover, the excess cropped from the
    /// centre); sizes in whole latent cells (multiples of 8).
    /// </summary>
    /// <exception cref="BadInputException">A scale out of 1..4, or a size smaller than the first pass.</exception>
    public (int UpscaleWidth, int UpscaleHeight, int CropX, int CropY) Target(int width, int height)
    {
        int x = ResizeX ?? 0, y = ResizeY ?? 0;
        long toX, toY, targetX, targetY;
        if (x == 0 && y == 0)
        {
            if (!double.IsFinite(Scale) || Scale < 1 || Scale > 4) throw new BadInputException("hr_scale", $"hr_scale {Scale}: must be 1..4");
            (toX, toY) = ((long)(width * Scale), (long)(height * Scale));
            (targetX, targetY) = (toX, toY);
        }
        else if (y == 0) (toX, toY, targetX, targetY) = (x, (long)x * height / width, x, (long)x * height / width);
        else if (x == 0) (toX, toY, targetX, targetY) = ((long)y * width / height, y, (long)y * width / height, y);
        else
        {
            (targetX, targetY) = (x, y);
            (toX, toY) = (double)width / height < (double)x / y ? ((long)x, (long)x * height / width) : ((long)y * width / height, (long)y);
        }
        if (toX < width || toY < height)
            throw new BadInputException("hr_resize_x", $"hires size {toX}x{toY} is smaller than the first pass's {width}x{height}: the hires fix enlarges");
        var cellsX = (int)(toX / 8);
        var cellsY = (int)(toY / 8);
        return (cellsX * 8, cellsY * 8, (int)((toX - targetX) / 8), (int)((toY - targetY) / 8));
    }
}
