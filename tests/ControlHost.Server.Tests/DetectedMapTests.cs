using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace ControlHost.Server.Tests;

/// <summary>
/// Issue 25: the detected map a unit returns is the hint the generation used, pixel for pixel, and /controlnet/detect
/// at the same resolution sees the same pixels; save_detected_map, out-of-range sliders and inpaint masks behave as the
/// extension's.
/// </summary>
public sealed class DetectedMapTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private static readonly string Scene = ServerFixture.Example("star-scene.png");

    private static byte[] Pixels(string b64)
    {
        using var image = Image.Load<Rgb24>(Convert.FromBase64String(b64));
        var bytes = new byte[image.Width * image.Height * 3];
        image.CopyPixelDataTo(bytes);
        return bytes;
    }

    private static string Encode(RgbImage image)
    {
        using var ms = new MemoryStream();
        PngParameters.Encode(image, null, ms);
        return Convert.ToBase64String(ms.ToArray());
    }

    private async Task<JsonElement> Txt2Img(object unit, int size = 64)
    {
        var (status, body) = await f.Post("/sdapi/v1/txt2img", new
        {
            prompt = "a red star", steps = 2, seed = 3, width = size, height = size, alwayson_scripts = new { ControlNet = new { args = new[] { unit } } },
        });
        Assert.True(status == 200, body.ToString());
        return body;
    }

    private async Task<string> Detect(string image, int resolution)
    {
        var (status, body) = await f.Post("/controlnet/detect", new { controlnet_module = "canny", controlnet_input_images = new[] { image }, controlnet_processor_res = resolution });
        Assert.True(status == 200, body.ToString());
        return body.GetProperty("images")[0].GetString()!;
    }

    [Fact]
    public async Task The_map_a_unit_returns_is_the_hint_fitted_to_the_generation_not_the_image_redetected()
    {
        // The scene is 128x128 and the generation 64x64: the unit fits the scene, then runs canny on it (pixel perfect).
        var body = await Txt2Img(new { module = "canny", model = "controlnet-tiny-canny", image = Scene });
        var images = body.GetProperty("images");
        Assert.Equal(2, images.GetArrayLength());
        var map = images[1].GetString()!;
        var fitted = Preprocessors.HintResize.Fit(ImageIo.Decode(new MemoryStream(Convert.FromBase64String(Scene)), "scene"), 64, 64, Preprocessors.HintFit.Cover);
        Assert.Equal(Pixels(await Detect(Encode(fitted), -1)), Pixels(map));
    }

    [Fact]
    public async Task At_a_processor_resolution_detect_and_the_unit_see_the_same_pixels()
    {
        var body = await Txt2Img(new { module = "canny", model = "controlnet-tiny-canny", image = Scene, processor_res = 64 });
        Assert.Equal(Pixels(await Detect(Scene, 64)), Pixels(body.GetProperty("images")[1].GetString()!));
    }

    [Fact]
    public async Task Save_detected_map_false_returns_the_generated_images_only()
    {
        var body = await Txt2Img(new { module = "canny", model = "controlnet-tiny-canny", image = Scene, save_detected_map = false });
        Assert.Equal(1, body.GetProperty("images").GetArrayLength());
    }

    [Fact]
    public async Task Out_of_range_sliders_fall_back_to_the_default_with_the_extensions_warning()
    {
        var body = await Txt2Img(new { module = "canny", model = "controlnet-tiny-canny", image = Scene, processor_res = -100, threshold_a = -100, threshold_b = 300 });
        var warnings = JsonDocument.Parse(body.GetProperty("info").GetString()!).RootElement.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()).ToList();
        Assert.Contains("[canny.processor_res] Invalid value(-100), using default value 512.", warnings);
        Assert.Contains("[canny.threshold_a] Invalid value(-100), using default value 100.", warnings);
        Assert.Contains("[canny.threshold_b] Invalid value(300), using default value 200.", warnings);
        var (status, detect) = await f.Post("/controlnet/detect", new { controlnet_module = "canny", controlnet_input_images = new[] { Scene }, controlnet_processor_res = -100 });
        Assert.Equal(200, status);
        Assert.Contains("Invalid value(-100)", detect.GetProperty("warnings")[0].GetString());
    }

    [Fact]
    public async Task An_inpaint_module_needs_a_mask_per_image_in_detect()
    {
        var (refused, body) = await f.Post("/controlnet/detect", new { controlnet_module = "inpaint_only", controlnet_input_images = new[] { Scene } });
        Assert.Equal(422, refused);
        Assert.Contains("controlnet_masks", body.ToString());
        var (ok, masked) = await f.Post("/controlnet/detect", new
        {
            controlnet_module = "inpaint_only", controlnet_input_images = new[] { Scene }, controlnet_masks = new[] { ServerFixture.Example("box-mask.png") },
        });
        Assert.Equal(200, ok);
        var pixels = Pixels(masked.GetProperty("images")[0].GetString()!);
        var mask = Pixels(ServerFixture.Example("box-mask.png"));
        for (var i = 0; i < mask.Length; i += 3)
            if (mask[i] >= 128) Assert.Equal(0, pixels[i] + pixels[i + 1] + pixels[i + 2]); // blacked out where the mask is white
    }
}
