using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Engine.Tests.Service;

/// <summary>A1111's hires fix (issue 25): the second pass's size and crop, its two starting points (an upscaled latent
/// or an upscaled image), the units of each pass, and the infotext read back into the same job.</summary>
public class HiresFixTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    private static GenerationJob Job(HiresSpec hires, params UnitSpec[] units) => new()
    {
        Prompt = "a red star on a blue background", Width = 64, Height = 64, Steps = 8, Seed = 4, Hires = hires, Units = units,
    };

    private static byte[] Png(GeneratedImage image)
    {
        using var ms = new MemoryStream();
        PngParameters.Encode(image.Image, image.Infotext, ms);
        return ms.ToArray();
    }

    [Theory]
    [InlineData(2.0, 0, 0, 128, 128, 0, 0)]
    [InlineData(1.5, 0, 0, 96, 96, 0, 0)]
    [InlineData(2.0, 160, 0, 160, 160, 0, 0)]      // one side given: the other kept in proportion
    [InlineData(2.0, 160, 96, 160, 160, 0, 8)]     // both: scaled to cover, 8 latent rows cropped
    [InlineData(1.3, 0, 0, 80, 80, 0, 0)]          // 83.2 -> 83 pixels -> 10 whole latent cells
    public void The_second_pass_size_follows_A1111s_rules(double scale, int x, int y, int upWidth, int upHeight, int cropX, int cropY)
    {
        var spec = new HiresSpec { Scale = scale, ResizeX = x, ResizeY = y };
        Assert.Equal((upWidth, upHeight, cropX, cropY), spec.Target(64, 64));
    }

    [Fact]
    public void An_img2img_from_a_latent_equals_the_same_img2img_from_the_image_it_encodes()
    {
        // The hires fix's latent path starts the second pass from a latent: it must be exactly the image path's start.
        var image = ImageIo.Fit(EmbeddedModelFixture.Scene(1), 64, 64, ResizeMode.JustResize);
        var request = new GenerationRequest { Prompt = "a red star", Width = 64, Height = 64, Steps = 6, Seed = 9, Strength = 0.6 };
        var fromImage = f.Pipeline.Generate(request with { InitImage = image }, []);
        var fromLatent = f.Pipeline.Generate(request with { InitLatent = f.Pipeline.EncodeLatent(image) }, []);
        Assert.Equal(fromImage.Image.Pixels, fromLatent.Image.Pixels);
        Assert.NotEqual(fromImage.Image.Pixels, f.Pipeline.Generate(request, []).Image.Pixels);
    }

    [Theory]
    [InlineData("Latent")]
    [InlineData("Latent (bicubic antialiased)")]
    [InlineData("Lanczos")]
    [InlineData("None")]
    public void A_hires_job_makes_the_larger_image_records_it_and_repeats_from_its_infotext(string upscaler)
    {
        var output = f.Service.Generate(Job(new HiresSpec { Scale = 2, Upscaler = upscaler, Steps = 6, Strength = 0.6 }));
        var image = output.Images[0];
        Assert.Equal((128, 128), (image.Image.Width, image.Image.Height));
        Assert.Contains("Size: 64x64", image.Infotext);
        Assert.Contains($"Hires upscale: 2, Hires steps: 6, Hires upscaler: {upscaler}, Denoising strength: 0.6", image.Infotext);
        var (again, _) = Infotext.ReadJob(image.Infotext, "test");
        Assert.Equal(Png(image), Png(f.Service.Generate(again).Images[0]));
        // The first pass alone is a different (smaller) image: the second pass ran.
        var plain = f.Service.Generate(Job(null!) with { Hires = null }).Images[0];
        Assert.Equal(64, plain.Image.Width);
    }

    [Fact]
    public void A_resize_to_both_sides_crops_to_the_size_asked()
    {
        var output = f.Service.Generate(Job(new HiresSpec { ResizeX = 160, ResizeY = 96, Upscaler = "Latent (nearest-exact)" }));
        Assert.Equal((160, 96), (output.Images[0].Image.Width, output.Images[0].Image.Height));
        Assert.Contains("Hires resize: 160x96", output.Images[0].Infotext);
    }

    [Fact]
    public void Units_take_part_in_the_passes_their_option_names()
    {
        var canny = new UnitSpec { Condition = "canny", Image = EmbeddedModelFixture.Scene(1) };
        var both = f.Service.Generate(Job(new HiresSpec(), canny)).Images[0];
        var low = f.Service.Generate(Job(new HiresSpec(), canny with { Pass = HiresPass.LowResOnly })).Images[0];
        var high = f.Service.Generate(Job(new HiresSpec(), canny with { Pass = HiresPass.HighResOnly })).Images[0];
        var none = f.Service.Generate(Job(new HiresSpec())).Images[0];
        var images = new[] { both, low, high, none }.Select(i => Convert.ToBase64String(i.Image.Pixels)).ToList();
        Assert.Equal(4, images.Distinct().Count());
    }

    [Fact]
    public void Bad_hires_requests_name_the_field()
    {
        var unknown = Assert.Throws<NotFoundException>(() => f.Service.Generate(Job(new HiresSpec { Upscaler = "R-ESRGAN 4x+" })));
        Assert.Contains("Latent (nearest-exact)", unknown.Message);
        var small = Assert.Throws<BadInputException>(() => f.Service.Generate(Job(new HiresSpec { Scale = 0.5 })));
        Assert.Equal("hr_scale", small.Field);
        var img2img = Assert.Throws<BadInputException>(() => f.Service.Generate(Job(new HiresSpec()) with { InitImage = EmbeddedModelFixture.Scene(1) }));
        Assert.Equal("enable_hr", img2img.Field);
    }
}
