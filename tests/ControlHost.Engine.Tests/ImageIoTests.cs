using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Tests;

public class ImageIoTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("controlhost-io-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Png_round_trips_pixels_and_parameters()
    {
        var image = TestImages.Rectangle(16, 8, 2, 2, 10, 6, (200, 10, 20), (0, 40, 255));
        var path = Path.Combine(_dir, "a.png");
        PngParameters.Save(image, path, "a red box\nNegative prompt: blur\nSteps: 20, Seed: 5");
        Assert.Equal("a red box\nNegative prompt: blur\nSteps: 20, Seed: 5", PngParameters.Read(path));
        Assert.Equal(image.Pixels, ImageIo.Load(path).Pixels);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Saving_into_a_missing_folder_fails_and_leaves_nothing()
    {
        var path = Path.Combine(_dir, "missing", "a.png");
        Assert.Throws<DirectoryNotFoundException>(() => PngParameters.Save(TestImages.Rectangle(4, 4, 0, 0, 1, 1, (1, 1, 1), (0, 0, 0)), path, null));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Empty_file_is_refused_with_its_name()
    {
        var path = Path.Combine(_dir, "empty.png");
        File.WriteAllBytes(path, []);
        var e = Assert.Throws<InvalidDataException>(() => ImageIo.Load(path));
        Assert.Contains("empty.png", e.Message);
    }

    [Fact]
    public void Truncated_png_is_refused_with_its_name()
    {
        var good = Path.Combine(_dir, "good.png");
        PngParameters.Save(TestImages.Rectangle(64, 64, 5, 5, 40, 40, (250, 0, 0), (0, 0, 250)), good, null);
        var bytes = File.ReadAllBytes(good);
        var path = Path.Combine(_dir, "cut.png");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => ImageIo.Load(path));
        Assert.Contains("cut.png", e.Message);
    }

    [Fact]
    public void Huge_image_is_refused_from_its_header_before_decoding()
    {
        var path = Path.Combine(_dir, "huge.png");
        File.WriteAllBytes(path, TestImages.PngHeaderOnly(60000, 60000));
        var e = Assert.Throws<InvalidDataException>(() => ImageIo.Load(path));
        Assert.Contains("over the limit", e.Message);
    }

    [Fact]
    public void Text_file_is_not_an_image()
    {
        var path = Path.Combine(_dir, "notes.png");
        File.WriteAllText(path, "hello");
        Assert.Throws<InvalidDataException>(() => ImageIo.Load(path));
    }

    [Theory]
    [InlineData(ResizeMode.JustResize)]
    [InlineData(ResizeMode.CropAndResize)]
    [InlineData(ResizeMode.ResizeAndFill)]
    public void Fit_produces_the_target_size(ResizeMode mode)
    {
        var fitted = ImageIo.Fit(TestImages.Rectangle(40, 20, 0, 0, 20, 20, (255, 0, 0), (0, 0, 255)), 32, 32, mode);
        Assert.Equal((32, 32), (fitted.Width, fitted.Height));
    }

    [Fact]
    public void Crop_and_resize_keeps_the_centre()
    {
        // 40x20, left half red, right half blue: cropping to a square keeps the middle 20 columns (10 red, 10 blue).
        var fitted = ImageIo.Fit(TestImages.Rectangle(40, 20, 0, 0, 20, 20, (255, 0, 0), (0, 0, 255)), 20, 20, ResizeMode.CropAndResize);
        Assert.True(fitted.Pixels[(10 * 20 + 2) * 3] > 200);      // left side red
        Assert.True(fitted.Pixels[(10 * 20 + 17) * 3 + 2] > 200); // right side blue
    }
}
