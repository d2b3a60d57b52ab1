using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;

namespace ControlHost.Preprocessors.Tests;

/// <summary>Bad input never escapes as anything but a clear, named error; the process goes on.</summary>
public class RobustnessTests
{
    /// <summary>Modules that need a model or option to run at all; with none they fail with a PreprocessorException.</summary>
    private static readonly HashSet<string> NeedInput = ["openpose", "colour_palette", "mask_polygon"];

    [Fact]
    public void Every_module_runs_on_tiny_and_odd_sized_images()
    {
        foreach (var (w, h) in new[] { (1, 1), (1, 7), (7, 1), (3, 3), (65, 33) })
            foreach (var p in PreprocessorRegistry.All)
            {
                var image = Draw.Noise(w, h, w * 31 + h);
                if (NeedInput.Contains(p.Name))
                {
                    Assert.Throws<PreprocessorException>(() => PreprocessorRegistry.Run(p.Name, image));
                    continue;
                }
                var result = PreprocessorRegistry.Run(p.Name, image);
                Assert.True(result.Image.Width > 0 && result.Image.Height > 0);
            }
    }

    [Fact]
    public void A_thousand_corrupt_or_random_images_go_through_every_module_without_escaping()
    {
        var dir = Directory.CreateTempSubdirectory("controlhost-corrupt-").FullName;
        try
        {
            var random = new Random(20261126);
            var valid = Path.Combine(dir, "valid.png");
            PngParameters.Save(Draw.Noise(24, 16, 5), valid, null);
            var good = File.ReadAllBytes(valid);
            int decoded = 0, refused = 0, runs = 0;
            for (var n = 0; n < 1000; n++)
            {
                var bytes = (n % 4) switch
                {
                    0 => good[..random.Next(0, good.Length)],                         // truncated
                    1 => Flip(good, random),                                          // bit flips
                    2 => RandomBytes(random),                                         // noise
                    _ => null,                                                         // a valid random image
                };
                RgbImage image;
                if (bytes is null)
                {
                    image = Draw.Noise(random.Next(1, 40), random.Next(1, 40), n);
                }
                else
                {
                    var path = Path.Combine(dir, $"c{n}.png");
                    File.WriteAllBytes(path, bytes);
                    try
                    {
                        image = ImageIo.Load(path);
                    }
                    catch (InvalidDataException)
                    {
                        refused++;
                        continue;
                    }
                }
                decoded++;
                foreach (var p in PreprocessorRegistry.All)
                {
                    runs++;
                    try
                    {
                        PreprocessorRegistry.Run(p.Name, image, null, $"image {n}");
                    }
                    catch (PreprocessorException e)
                    {
                        Assert.Contains(p.Name, e.Message);
                    }
                }
            }
            Assert.True(refused > 100 && decoded > 250, $"{refused} refused, {decoded} decoded");
            Assert.True(runs > 5000);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Grey_sixteen_bit_and_alpha_pngs_load_as_rgb_and_run()
    {
        var dir = Directory.CreateTempSubdirectory("controlhost-formats-").FullName;
        try
        {
            var files = new Dictionary<string, Action<string>>
            {
                ["grey.png"] = p => Save(new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.L8>(20, 10, new(200)), p),
                ["deep.png"] = p => Save(new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgb48>(20, 10, new(65535, 0, 0)), p),
                ["alpha.png"] = p => Save(new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(20, 10, new(0, 0, 255, 128)), p),
            };
            foreach (var (name, write) in files)
            {
                var path = Path.Combine(dir, name);
                write(path);
                var image = ImageIo.Load(path);
                Assert.Equal((20, 10), (image.Width, image.Height));
                Assert.Equal(0, Draw.CountWhite(PreprocessorRegistry.Run("canny", image).Image));
            }
            Assert.Equal((255, 0, 0), Draw.At(ImageIo.Load(Path.Combine(dir, "deep.png")), 3, 3));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Save<T>(SixLabors.ImageSharp.Image<T> image, string path) where T : unmanaged, SixLabors.ImageSharp.PixelFormats.IPixel<T>
    {
        using (image) SixLabors.ImageSharp.ImageExtensions.SaveAsPng(image, path);
    }

    private static byte[] Flip(byte[] good, Random random)
    {
        var copy = (byte[])good.Clone();
        for (var k = 0; k < 1 + random.Next(8); k++) copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        return copy;
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 300)];
        random.NextBytes(bytes);
        // some start like a PNG, to reach deeper into the decoder
        if (bytes.Length > 8 && random.Next(2) == 0) new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        return bytes;
    }
}
