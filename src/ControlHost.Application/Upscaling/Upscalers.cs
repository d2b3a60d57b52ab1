using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Sources;
using ControlHost.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using SixLabors.ImageSharp.Processing.Processors.Transforms;

namespace ControlHost.Application.Upscaling;

/// <summary>
/// Image upscalers: the ones A1111 ships without any model (None, the image as it is; Lanczos; Nearest), and users'
/// ESRGAN-type networks exported to ONNX in an ESRGAN/, RealESRGAN/ or upscale_models/ folder, named by file stem.
/// </summary>
public static class Upscalers
{
    /// <summary>A1111's built-in names, in its order; its built-in upscalers report a scale of 4.</summary>
    public static IReadOnlyList<string> Names { get; } = ["None", "Lanczos", "Nearest"];

    public const int NominalScale = 4;

    /// <summary>What an unknown upscaler's error adds: where a user's upscaler goes.</summary>
    public const string WhereFilesGo = "an ESRGAN-type upscaler runs from its ONNX export in an ESRGAN/, RealESRGAN/ or upscale_models/ folder under a model root";

    /// <summary>The built-in names, then the users' upscaler files by stem.</summary>
    public static IReadOnlyList<string> NamesWith(IEnumerable<string> files) => Names.Concat(files.Select(f => Path.GetFileNameWithoutExtension(f))).ToList();

    /// <summary>The canonical name an upscaler is asked by (any case), or null when there is none.</summary>
    public static string? Canonical(string? name, IEnumerable<string> files) =>
        NamesWith(files).FirstOrDefault(n => string.Equals(n, name ?? "None", StringComparison.OrdinalIgnoreCase));

    /// <summary>An upscaler file's factor as its name says it (4x-UltraSharp, RealESRGAN_x2plus), else 4.</summary>
    public static int ScaleOf(string file)
    {
        var match = System.Text.RegularExpressions.Regex.Match(Path.GetFileNameWithoutExtension(file), @"(?:^|[^0-9])([1-8])x|x([1-8])(?:[^0-9]|$)", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        return match.Success ? int.Parse(match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : NominalScale;
    }

    /// <summary>The size an upscale gives: by a factor, or to a width and height.</summary>
    /// <exception cref="BadInputException">A size the budget refuses, or no size.</exception>
    public static (int Width, int Height) TargetSize(int width, int height, double scale, int? toWidth, int? toHeight, ImageBudget budget, string field)
    {
        long w, h;
        if (toWidth is > 0 || toHeight is > 0)
        {
            w = toWidth is > 0 ? toWidth.Value : (long)Math.Round(width * (double)toHeight!.Value / height);
            h = toHeight is > 0 ? toHeight.Value : (long)Math.Round(height * (double)toWidth!.Value / width);
        }
        else
        {
            if (!(scale > 0)) throw new BadInputException(field, $"{field}: scale {scale} must be above 0");
            w = Math.Max(1, (long)Math.Round(width * scale));
            h = Math.Max(1, (long)Math.Round(height * scale));
        }
        budget.CheckWork(w, h, field, $"upscaling {width}x{height}");
        return ((int)w, (int)h);
    }

    /// <summary>Resizes with the named upscaler to exactly width x height ("None" resizes nothing: the image as it is). A
    /// network runs at its own factor, then Lanczos takes the result to the size asked, as A1111 does.</summary>
    public static RgbImage Upscale(RgbImage image, string name, int width, int height, IEnumerable<string>? files = null)
    {
        if (files?.FirstOrDefault(f => string.Equals(Path.GetFileNameWithoutExtension(f), name, StringComparison.OrdinalIgnoreCase)) is { } file)
        {
            var enlarged = OnnxUpscaler.Load(file).Run(image);
            return Upscale(enlarged, "Lanczos", width, height);
        }
        IResampler? resampler = name switch
        {
            "Lanczos" => KnownResamplers.Lanczos3,
            "Nearest" => KnownResamplers.NearestNeighbor,
            _ => null,
        };
        if (resampler is null || (image.Width == width && image.Height == height)) return image;
        using var img = ImageIo.ToImage(image);
        img.Mutate(x => x.Resize(width, height, resampler));
        return ImageIo.ToRgb(img);
    }

    /// <summary>
    /// A1111's extras upscale: upscaler 1 to the target size, and upscaler 2 blended over it with its visibility;
    /// crop (when the target is given as a size and crop is asked) keeps the centre at the target's aspect.
    /// </summary>
    public static RgbImage Extras(RgbImage image, string upscaler1, string upscaler2, double visibility2, int width, int height, bool crop,
        IEnumerable<string>? files = null)
    {
        var (w, h) = (width, height);
        if (crop)
        {
            // Scale to cover the target, then take its centre.
            var k = Math.Max((double)width / image.Width, (double)height / image.Height);
            (w, h) = (Math.Max(width, (int)Math.Round(image.Width * k)), Math.Max(height, (int)Math.Round(image.Height * k)));
        }
        var first = upscaler1 == "None" ? image : Upscale(image, upscaler1, w, h, files);
        if (upscaler2 != "None" && visibility2 > 0)
        {
            var second = Upscale(image, upscaler2, first.Width, first.Height, files);
            var blended = new byte[first.Pixels.Length];
            for (var i = 0; i < blended.Length; i++)
                blended[i] = (byte)Math.Clamp(Math.Round(first.Pixels[i] * (1 - visibility2) + second.Pixels[i] * visibility2), 0, 255);
            first = new RgbImage(first.Width, first.Height, blended);
        }
        if (!crop || first == image) return first;
        return ImageIo.Crop(first, (first.Width - width) / 2, (first.Height - height) / 2, width, height);
    }
}
