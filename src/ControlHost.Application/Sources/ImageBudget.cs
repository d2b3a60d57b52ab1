using System.Globalization;
using ControlHost.Application.Errors;
using ControlHost.Engine.Imaging;

namespace ControlHost.Application.Sources;

/// <summary>
/// How large the images of one job may be: as given (decoded), and after every resize step the job asks for
/// (a processor resolution, an OpenPose canvas, a fit to the canvas). A small header can claim a 1x60000 image that a
/// processor resolution of 64 would enlarge to 64x3,840,000, so each step's result is checked before it is made,
/// and the error names the step, the size and the limit.
/// </summary>
public sealed record ImageBudget
{
    /// <summary>Pixels of a decoded input image (the header is checked before any decoding).</summary>
    public long MaxInputPixels { get; init; } = ImageIo.DefaultPixelLimit;

    /// <summary>Pixels of any image a resize step makes (processor resolution, canvases).</summary>
    public long MaxWorkPixels { get; init; } = ImageIo.DefaultPixelLimit;

    /// <summary>Long side over short side, for inputs and for every step.</summary>
    public double MaxAspect { get; init; } = 64;

    /// <summary>A process's own files (the CLI): generous, as above.</summary>
    public static ImageBudget Default { get; } = new();

    /// <exception cref="BadInputException">Over a limit: names the field, the size and the limit.</exception>
    public void CheckInput(int width, int height, string field) => Check(width, height, field, "the image", MaxInputPixels, "--max-image-pixels");

    /// <summary>The size scaling to a short side of <paramref name="shortSide"/> gives, checked before anything is resized.</summary>
    /// <exception cref="BadInputException">The result would be over the work limit.</exception>
    public (int Width, int Height) ScaleShortSide(int width, int height, int shortSide, string field)
    {
        var scale = (double)shortSide / Math.Min(width, height);
        var w = Math.Max(1L, (long)Math.Round(width * scale));
        var h = Math.Max(1L, (long)Math.Round(height * scale));
        Check(w, h, field, $"processor resolution {shortSide} (short side) on {width}x{height}", MaxWorkPixels, "--max-work-pixels");
        return ((int)w, (int)h);
    }

    /// <summary>An image a step is about to make (a canvas, a fitted hint).</summary>
    /// <exception cref="BadInputException">Over the work limit.</exception>
    public void CheckWork(long width, long height, string field, string step) => Check(width, height, field, step, MaxWorkPixels, "--max-work-pixels");

    private void Check(long width, long height, string field, string what, long limit, string option)
    {
        if (width <= 0 || height <= 0) throw new BadInputException(field, $"{field}: {what} is {width}x{height}, an empty size");
        var pixels = width * height;
        if (pixels > limit)
            throw new BadInputException(field, string.Create(CultureInfo.InvariantCulture,
                $"{field}: {what} would make {width}x{height} = {pixels:N0} pixels, over the limit of {limit:N0} (the server's {option}); send a smaller image or a lower processor_res"));
        var aspect = (double)Math.Max(width, height) / Math.Min(width, height);
        if (aspect > MaxAspect)
            throw new BadInputException(field, string.Create(CultureInfo.InvariantCulture,
                $"{field}: {what} is {width}x{height}, an aspect ratio of {aspect:0.#}:1, over the limit of {MaxAspect:0.#}:1 (the server's --max-aspect); crop the image first"));
    }
}
