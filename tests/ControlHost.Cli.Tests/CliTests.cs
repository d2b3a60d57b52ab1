namespace ControlHost.Cli.Tests;

public class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("controlhost-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Example(string name) => Path.Combine(CliRunner.RepoRoot, "examples", name);

    [Fact]
    public void Generate_with_stacked_controls_writes_a_png_whose_info_lists_every_unit()
    {
        var (code, stdout, stderr) = CliRunner.Run(_dir, "generate", "--prompt", "a blue person and a red star on a pink background",
            "--control", $"canny={Example("star-scene.png")}", "--control", $"colour={Example("palette.png")},weight=0.8,end=0.8",
            "--seed", "42", "--steps", "12", "--out", "out.png", "--timings");
        Assert.True(code == 0, stderr);
        Assert.Contains("saved out.png", stdout);
        Assert.Contains("timings: 12 steps", stdout);
        var info = CliRunner.Run(_dir, "info", "out.png");
        Assert.Equal(0, info.Code);
        Assert.StartsWith("a blue person and a red star on a pink background", info.Out);
        Assert.Contains("Seed: 42", info.Out);
        Assert.Contains("CFG scale: 4,", info.Out); // the embedded model's recommended guidance (controlhost.json)
        Assert.Contains("ControlNet 0: \"Module: canny, Model: controlnet-tiny-canny, Weight: 1", info.Out);
        Assert.Contains("ControlNet 1: \"Module: colour, Model: adapter-tiny-colour, Weight: 0.8", info.Out);
        Assert.Contains("Guidance End: 0.8", info.Out);
    }

    [Fact]
    public void Same_seed_twice_gives_identical_files()
    {
        string[] Args(string outName) => ["generate", "--prompt", "a green circle on a white background", "--seed", "7", "--steps", "8",
            "--control", $"canny={Example("star-scene.png")}", "--out", outName];
        Assert.Equal(0, CliRunner.Run(_dir, Args("a.png")).Code);
        Assert.Equal(0, CliRunner.Run(_dir, Args("b.png")).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "a.png")), File.ReadAllBytes(Path.Combine(_dir, "b.png")));
    }

    [Fact]
    public void From_png_repeats_the_generation_byte_for_byte()
    {
        Assert.Equal(0, CliRunner.Run(_dir, "generate", "--prompt", "a small pink triangle on a gray background", "--negative", "blur",
            "--seed", "99", "--steps", "6", "--cfg", "4", "--sampler", "DPM++ 2M", "--out", "first.png").Code);
        var again = CliRunner.Run(_dir, "generate", "--from", "first.png", "--out", "again.png");
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "first.png")), File.ReadAllBytes(Path.Combine(_dir, "again.png")));
        var changed = CliRunner.Run(_dir, "generate", "--from", "first.png", "--seed", "100", "--out", "changed.png");
        Assert.Equal(0, changed.Code);
        Assert.Contains("Seed: 100", CliRunner.Run(_dir, "info", "changed.png").Out);
    }

    [Fact]
    public void From_png_repeats_a_job_whose_control_file_is_gone_from_the_images_kept_by_hash()
    {
        File.Copy(Example("star-scene.png"), Path.Combine(_dir, "sketch.png"));
        Assert.Equal(0, CliRunner.Run(_dir, "generate", "--prompt", "a red star", "--seed", "3", "--steps", "5",
            "--control", "canny=sketch.png,weight=0.7,union_type=Hard Edge,return_map=false", "--out", "first.png").Code);
        File.Delete(Path.Combine(_dir, "sketch.png"));
        var again = CliRunner.Run(_dir, "generate", "--from", "first.png", "--out", "again.png");
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "first.png")), File.ReadAllBytes(Path.Combine(_dir, "again.png")));
        // Without the kept images the record cannot be repeated, and the error says where they are kept.
        Directory.Delete(Path.Combine(_dir, ".blobs"), recursive: true);
        var lost = CliRunner.Run(_dir, "generate", "--from", "first.png", "--out", "lost.png");
        Assert.Equal(2, lost.Code);
        Assert.Contains("is not stored here", lost.Err);
    }

    [Fact]
    public void Hires_fix_makes_the_larger_image_and_from_repeats_it()
    {
        var first = CliRunner.Run(_dir, "generate", "--prompt", "a red star", "--width", "64", "--height", "64", "--seed", "5", "--steps", "6",
            "--hires-scale", "2", "--hires-upscaler", "Lanczos", "--hires-steps", "4", "--hires-denoise", "0.6", "--out", "hires.png");
        Assert.True(first.Code == 0, first.Err);
        Assert.Contains("(128x128", first.Out);
        var info = CliRunner.Run(_dir, "info", "hires.png").Out;
        Assert.Contains("Size: 64x64", info);
        Assert.Contains("Hires upscale: 2, Hires steps: 4, Hires upscaler: Lanczos, Denoising strength: 0.6", info);
        var again = CliRunner.Run(_dir, "generate", "--from", "hires.png", "--out", "hires-again.png");
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "hires.png")), File.ReadAllBytes(Path.Combine(_dir, "hires-again.png")));
        var bad = CliRunner.Run(_dir, "generate", "--prompt", "x", "--hires-resize", "big", "--out", "bad.png");
        Assert.Equal(2, bad.Code);
        Assert.Contains("WxH", bad.Err);
    }

    [Fact]
    public void Upscale_makes_the_extras_upscale_of_a_file_and_names_unknown_upscalers()
    {
        var done = CliRunner.Run(_dir, "upscale", "--image", Example("star-scene.png"), "--out", "up.png", "--upscaler", "Nearest", "--scale", "3");
        Assert.True(done.Code == 0, done.Err);
        Assert.Contains("(384x384, Nearest)", done.Out);
        var cropped = CliRunner.Run(_dir, "upscale", "--image", Example("star-scene.png"), "--out", "wide.png", "--size", "300x100");
        Assert.Contains("(300x100, Lanczos)", cropped.Out);
        var unknown = CliRunner.Run(_dir, "upscale", "--image", Example("star-scene.png"), "--out", "x.png", "--upscaler", "RealESRGAN");
        Assert.Equal(2, unknown.Code);
        Assert.Contains("Lanczos", unknown.Err);
    }

    [Fact]
    public void Random_seed_is_reported()
    {
        var (code, stdout, _) = CliRunner.Run(_dir, "generate", "--prompt", "a star", "--steps", "2", "--out", "r.png");
        Assert.Equal(0, code);
        Assert.Matches(@"seed \d+", stdout);
    }

    [Theory]
    [InlineData("--role api or worker needs --nats URL", "serve", "--role", "api")]
    [InlineData("--role tiny: api (take requests, run no model), worker (run jobs, no HTTP) or both", "serve", "--nats", "nats://127.0.0.1:4222", "--role", "tiny")]
    [InlineData("--max-attempts: 1 or more", "worker", "--nats", "nats://127.0.0.1:4222", "--max-attempts", "0")]
    public void Cluster_options_that_cannot_work_are_one_line_and_exit_2(string expected, params string[] args)
    {
        var (code, _, stderr) = CliRunner.Run(_dir, args);
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
    }

    [Theory]
    [InlineData("unknown sampler 'Heun++'", "--sampler", "Heun++")]
    [InlineData("model 'no-such-model' not found", "--model", "no-such-model")]
    [InlineData("width 100 must be a multiple of 8", "--width", "100")]
    [InlineData("seed", "--seed", "-5")]
    public void Bad_input_is_one_line_exit_2_and_no_output(string expected, string option, string value)
    {
        var (code, _, stderr) = CliRunner.Run(_dir, "generate", "--prompt", "x", option, value, "--steps", "2", "--out", "bad.png");
        Assert.Equal(2, code);
        Assert.Contains(expected, stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "bad.png")));
    }

    [Fact]
    public void Broken_control_image_names_the_unit_and_file()
    {
        File.WriteAllBytes(Path.Combine(_dir, "broken.png"), [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var (code, _, stderr) = CliRunner.Run(_dir, "generate", "--prompt", "x", "--control", "canny=broken.png", "--out", "bad.png");
        Assert.Equal(2, code);
        Assert.Contains("unit 1", stderr);
        Assert.Contains("broken.png", stderr);
        Assert.False(File.Exists(Path.Combine(_dir, "bad.png")));
    }

    [Fact]
    public void Verbose_adds_the_stack_trace()
    {
        var (code, _, stderr) = CliRunner.Run(_dir, "generate", "--prompt", "x", "--sampler", "nope", "--out", "bad.png", "--verbose");
        Assert.Equal(2, code);
        Assert.Contains("   at ", stderr);
    }

    [Fact]
    public void Models_lists_the_embedded_family()
    {
        var (code, stdout, _) = CliRunner.Run(_dir, "models");
        Assert.Equal(0, code);
        Assert.Contains("tiny-sd", stdout);
        Assert.Contains("controlnet-tiny-canny", stdout);
    }

    [Fact]
    public void Plugins_and_modules_list_the_shipped_condition_types()
    {
        var plugins = CliRunner.Run(_dir, "plugins");
        Assert.Equal(0, plugins.Code);
        Assert.Contains("condition canny (aliases: canny_edges) [spatial]", plugins.Out);
        Assert.Contains("0 failed", plugins.Out);
        var modules = CliRunner.Run(_dir, "modules");
        Assert.Contains("low_threshold = 100 (integer, 1..255)", modules.Out);
    }

    [Fact]
    public void Detect_writes_the_hint_and_refuses_bad_options()
    {
        var ok = CliRunner.Run(_dir, "detect", "--module", "scribble_xdog", "--image", Example("star-scene.png"), "--out", "hint.png");
        Assert.True(ok.Code == 0, ok.Err);
        Assert.True(File.Exists(Path.Combine(_dir, "hint.png")));
        var colour = CliRunner.Run(_dir, "detect", "--module", "colour", "--image", Example("palette.png"), "--out", "hist.png");
        Assert.Equal(0, colour.Code);
        Assert.Contains("\"vector\":[", File.ReadAllText(Path.Combine(_dir, "hist.json")));
        var bad = CliRunner.Run(_dir, "detect", "--module", "canny", "--image", Example("star-scene.png"), "--set", "low_threshold=999", "--out", "x.png");
        Assert.Equal(2, bad.Code);
        Assert.Contains("module 'canny' on star-scene.png", bad.Err);
        Assert.Contains("option 'low_threshold'", bad.Err);
    }

    [Fact]
    public void Inpainting_with_the_inpainting_model_keeps_the_pixels_outside_the_mask()
    {
        Assert.Equal(0, CliRunner.Run(_dir, "detect", "-m", "mask_box", "-i", Example("star-scene.png"), "--set", "x=16", "--set", "y=24",
            "--set", "width=48", "--set", "height=56", "-o", "box.png").Code);
        var run = CliRunner.Run(_dir, "generate", "--model", "tiny-sd-inpainting", "--init", Example("star-scene.png"), "--mask", "box.png",
            "--strength", "1", "--prompt", "a green circle on a yellow background", "--seed", "5", "--steps", "8", "--out", "inpainted.png");
        Assert.True(run.Code == 0, run.Err);
        using var before = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Example("star-scene.png"));
        using var after = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Path.Combine(_dir, "inpainted.png"));
        Assert.Equal(before[100, 100], after[100, 100]);
        Assert.Equal(before[5, 5], after[5, 5]);
        var noInit = CliRunner.Run(_dir, "generate", "--mask", "box.png", "--prompt", "x", "--out", "y.png");
        Assert.Equal(2, noInit.Code);
        Assert.Contains("--mask needs --init", noInit.Err);
    }

    [Fact]
    public void Detect_makes_a_mask_from_transparency_and_refuses_an_opaque_image()
    {
        using (var png = new SixLabors.ImageSharp.Image<SixLabors.ImageSharp.PixelFormats.Rgba32>(8, 4, new(10, 20, 30, 255)))
        {
            for (var y = 0; y < 4; y++) png[1, y] = new(0, 0, 0, 0);
            SixLabors.ImageSharp.ImageExtensions.SaveAsPng(png, Path.Combine(_dir, "cut.png"));
        }
        var ok = CliRunner.Run(_dir, "detect", "-m", "mask_alpha", "-i", "cut.png", "-o", "mask.png");
        Assert.True(ok.Code == 0, ok.Err);
        using (var mask = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Path.Combine(_dir, "mask.png")))
        {
            Assert.Equal(255, mask[1, 2].R);
            Assert.Equal(0, mask[5, 2].R);
        }
        var opaque = CliRunner.Run(_dir, "detect", "-m", "mask_alpha", "-i", Example("star-scene.png"), "-o", "m2.png");
        Assert.Equal(2, opaque.Code);
        Assert.Contains("no transparent pixels", opaque.Err);
    }

    [Fact]
    public void Detect_runs_sd_webui_controlnet_module_names_and_says_what_a_model_module_needs()
    {
        var seg = CliRunner.Run(_dir, "detect", "-m", "seg_ofade20k", "-i", Example("star-scene.png"), "--set", "resolution=64", "-o", "seg.png");
        Assert.True(seg.Code == 0, seg.Err);
        Assert.Contains("fallback", seg.Out);
        using (var png = SixLabors.ImageSharp.Image.Load(Path.Combine(_dir, "seg.png"))) Assert.Equal(64, png.Height);
        var pose = CliRunner.Run(_dir, "detect", "-m", "openpose", "-i", Example("star-scene.png"), "-o", "pose.png");
        Assert.Equal(2, pose.Code);
        Assert.Contains("estimator=PATH.onnx", pose.Err);
        var modules = CliRunner.Run(_dir, "modules");
        Assert.Contains("lsd (aliases: mlsd", modules.Out);
        Assert.Contains("softedge", modules.Out);
    }

    [Fact]
    public void Info_on_a_png_without_parameters_says_so()
    {
        var (code, _, stderr) = CliRunner.Run(_dir, "info", Path.Combine(CliRunner.RepoRoot, "examples", "star-scene.png"));
        Assert.Equal(2, code);
        Assert.Contains("no 'parameters'", stderr);
    }

    [Fact]
    public void Place_puts_an_object_in_a_box_and_from_repeats_it_byte_for_byte()
    {
        var run = CliRunner.Run(_dir, "place", "--background", Example("star-scene.png"), "--box", "20,30,50,70", "--prompt", "a green square",
            "--control", $"scribble={Example("object-sketch.png")},preprocess=none", "--steps", "4", "--seed", "7", "--harmonize", "reinhard", "--out", "placed.png");
        Assert.True(run.Code == 0, run.Err);
        using (var before = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Example("star-scene.png")))
        using (var after = SixLabors.ImageSharp.Image.Load<SixLabors.ImageSharp.PixelFormats.Rgb24>(Path.Combine(_dir, "placed.png")))
        {
            Assert.Equal(before[5, 5], after[5, 5]);        // far outside the box
            Assert.Equal(before[120, 120], after[120, 120]);
            Assert.NotEqual(before[45, 65], after[45, 65]); // inside it
        }
        var again = CliRunner.Run(_dir, "place", "--from", "placed.png", "--out", "again.png");
        Assert.True(again.Code == 0, again.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "placed.png")), File.ReadAllBytes(Path.Combine(_dir, "again.png")));
        var outside = CliRunner.Run(_dir, "place", "--background", Example("star-scene.png"), "--box", "100,100,50,50", "--prompt", "x", "--out", "x.png");
        Assert.Equal(2, outside.Code);
        Assert.Contains("reaches outside the 128x128 background", outside.Err);
    }

    [Fact]
    public void Suggest_boxes_prints_ranked_boxes_with_their_score_parts()
    {
        var run = CliRunner.Run(_dir, "suggest-boxes", "--background", Example("star-scene.png"), "--size", "30,40", "--count", "3");
        Assert.True(run.Code == 0, run.Err);
        var rows = run.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("free", rows[0]);
        Assert.Equal(4, rows.Length);
        Assert.Equal(run.Out, CliRunner.Run(_dir, "suggest-boxes", "--background", Example("star-scene.png"), "--size", "30,40", "--count", "3").Out);
    }
}
