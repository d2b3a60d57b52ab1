using ControlHost.Abstractions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace ControlHost.Engine.Imaging;

/// <summary>How an input image is fitted to the generation size (A1111's resize modes).</summary>
public enum ResizeMode
{
    /// <summary>Stretch to the target size.</summary>
    JustResize,
    /// <summary>Scale to cover the target, then crop the centre (sd-webui-controlnet's default).</summary>
    CropAndResize,
    /// <summary>Scale to fit inside the target, then pad with black.</summary>
    ResizeAndFill,
}

/// <summary>Safe image decoding (dimensions checked before pixels are decoded) and conversions.</summary>
public static class ImageIo
{
    /// <summary>The most pixels an input image may have (64 megapixels).</summary>
    public const long DefaultPixelLimit = 64L * 1024 * 1024;

    /// <exception cref="InvalidDataException">Unreadable, not an image, or over the pixel limit; the message names the file.</exception>
    public static RgbImage Load(string path, long pixelLimit = DefaultPixelLimit)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image '{path}' not found");
        using var stream = File.OpenRead(path);
        return Decode(stream, path, pixelLimit);
    }

    public static RgbImage Decode(Stream stream, string label, long pixelLimit = DefaultPixelLimit) =>
        Guarded(stream, label, pixelLimit, s =>
        {
            using var image = Image.Load<Rgb24>(s);
            return ToRgb(image);
        });

    /// <summary>The size an encoded image's header claims, read without decoding any pixel.</summary>
    /// <exception cref="InvalidDataException">Not an image this host reads.</exception>
    public static (int Width, int Height) Identify(Stream stream, string label)
    {
        try
        {
            var start = stream.CanSeek ? stream.Position : 0;
            var info = Image.Identify(stream) ?? throw new InvalidDataException($"image '{label}': not a PNG, JPEG, BMP, GIF, TGA or WebP file");
            if (stream.CanSeek) stream.Position = start;
            return (info.Width, info.Height);
        }
        catch (InvalidDataException) { throw; }
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"image '{label}': cannot be read ({e.Message})");
        }
    }

    /// <summary>The alpha channel of an image file, one byte a pixel (row-major), for masks drawn as transparency.</summary>
    /// <exception cref="InvalidDataException">Unreadable, over the pixel limit, or without any transparent pixel.</exception>
    public static (byte[] Alpha, int Width, int Height) LoadAlpha(string path, long pixelLimit = DefaultPixelLimit)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"image '{path}' not found");
        using var stream = File.OpenRead(path);
        return DecodeAlpha(stream, path, pixelLimit);
    }

    /// <summary>The alpha channel of an encoded image, as <see cref="LoadAlpha"/>.</summary>
    public static (byte[] Alpha, int Width, int Height) DecodeAlpha(Stream stream, string label, long pixelLimit = DefaultPixelLimit)
    {
        var result = Guarded(stream, label, pixelLimit, s =>
        {
            using var image = Image.Load<Rgba32>(s);
            var alpha = new byte[image.Width * image.Height];
            for (var y = 0; y < image.Height; y++)
                for (var x = 0; x < image.Width; x++)
                    alpha[y * image.Width + x] = image[x, y].A;
            return (alpha, image.Width, image.Height);
        });
        if (result.alpha.All(a => a == 255))
            throw new InvalidDataException($"image '{label}' has no transparent pixels: a mask from alpha needs a PNG with transparency");
        return result;
    }

    /// <summary>Reads the header first (format, size, pixel limit: nothing is decoded before that), then decodes;
    /// every failure becomes an InvalidDataException naming the file.</summary>
    private static T Guarded<T>(Stream stream, string label, long pixelLimit, Func<Stream, T> decode)
    {
        try
        {
            var start = stream.CanSeek ? stream.Position : 0;
            var info = Image.Identify(stream)
                ?? throw new InvalidDataException($"image '{label}': not a PNG, JPEG, BMP, GIF, TGA or WebP file");
            if (info.Width <= 0 || info.Height <= 0)
                throw new InvalidDataException($"image '{label}': size {info.Width}x{info.Height} is empty");
            if ((long)info.Width * info.Height > pixelLimit)
                throw new InvalidDataException($"image '{label}': {info.Width}x{info.Height} is over the limit of {pixelLimit} pixels; scale it down first");
            if (stream.CanSeek) stream.Position = start;
            return decode(stream);
        }
        catch (InvalidDataException) { throw; }
        // Corrupt files can also trip the decoder's own bugs (ImageSharp 2.1 throws IndexOutOfRangeException on a
        // damaged pHYs chunk, found by the corrupt-image test): any failure while decoding means "cannot be decoded".
        catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"image '{label}': cannot be decoded ({e.Message})");
        }
    }

    public static RgbImage ToRgb(Image<Rgb24> image)
    {
        var pixels = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(pixels);
        return new RgbImage(image.Width, image.Height, pixels);
    }

    public static Image<Rgb24> ToImage(RgbImage rgb) => Image.LoadPixelData<Rgb24>(rgb.Pixels, rgb.Width, rgb.Height);

    /// <summary>Fits <paramref name="source"/> to width x height with the given mode (bicubic resampling).</summary>
    public static RgbImage Fit(RgbImage source, int width, int height, ResizeMode mode)
    {
        if (source.Width == width && source.Height == height) return source;
        using var image = ToImage(source);
        var options = new ResizeOptions
        {
            Size = new Size(width, height),
            Mode = mode switch
            {
                ResizeMode.JustResize => SixLabors.ImageSharp.Processing.ResizeMode.Stretch,
                ResizeMode.CropAndResize => SixLabors.ImageSharp.Processing.ResizeMode.Crop,
                _ => SixLabors.ImageSharp.Processing.ResizeMode.Pad,
            },
            Sampler = KnownResamplers.Bicubic,
            PadColor = Color.Black,
        };
        image.Mutate(x => x.Resize(options));
        return ToRgb(image);
    }

    /// <summary>The window of <paramref name="source"/> at (x, y) of width x height (inside the image).</summary>
    public static RgbImage Crop(RgbImage source, int x, int y, int width, int height)
    {
        if (x < 0 || y < 0 || width < 1 || height < 1 || x + width > source.Width || y + height > source.Height)
            throw new ArgumentException($"crop {x},{y},{width},{height} is not inside the {source.Width}x{source.Height} image");
        if (x == 0 && y == 0 && width == source.Width && height == source.Height) return source;
        var pixels = new byte[width * height * 3];
        for (var row = 0; row < height; row++)
            Array.Copy(source.Pixels, ((y + row) * source.Width + x) * 3, pixels, row * width * 3, width * 3);
        return new RgbImage(width, height, pixels);
    }

    /// <summary>[1,3,H,W] floats: in [0,1] for ControlNet hints, or [-1,1] for the VAE.</summary>
    public static float[] ToChw(RgbImage image, bool signed)
    {
        var plane = image.Width * image.Height;
        var data = new float[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
            {
                var v = image.Pixels[i * 3 + c] / 255f;
                data[c * plane + i] = signed ? v * 2 - 1 : v;
            }
        return data;
    }

    /// <summary>[1,3,H,W] in [-1,1] -> 8-bit RGB, rounding to nearest.</summary>
    public static RgbImage FromSignedChw(ReadOnlySpan<float> data, int width, int height)
    {
        var plane = width * height;
        var pixels = new byte[3 * plane];
        for (var i = 0; i < plane; i++)
            for (var c = 0; c < 3; c++)
            {
                var v = (data[c * plane + i] + 1f) * 0.5f;
                pixels[i * 3 + c] = (byte)Math.Round(Math.Clamp(v, 0f, 1f) * 255f);
            }
        return new RgbImage(width, height, pixels);
    }
}
