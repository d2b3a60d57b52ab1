using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Names;
using ControlHost.Application.Units;
using ControlHost.Abstractions;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Engine.Tests;

public class InfotextTests
{
    private sealed class NoBranch : IControlBranch
    {
        public string Name => "none";
        public void Dispose() { }
    }

    [Fact]
    public void Infotext_has_a1111_layout_and_one_entry_per_unit()
    {
        var request = new GenerationRequest { Prompt = "a red circle", NegativePrompt = "blurry", Steps = 20, CfgScale = 7,
            Sampler = Scheduling.SamplerId.EulerAncestral, Seed = 1234, Width = 128, Height = 128 };
        var units = new[]
        {
            new ControlUnit { Branch = new NoBranch(), Module = "canny", ModelName = "controlnet-tiny-canny", Weight = 0.8f, End = 0.5,
                Options = new Dictionary<string, string> { ["low_threshold"] = "100", ["unset"] = "" }, ProcessorResolution = 128 },
            new ControlUnit { Branch = new NoBranch(), Module = "depth", ModelName = "controlnet-tiny-depth", Mode = ControlMode.ControlFirst },
        };
        var text = Infotext.Format(request, "tiny-sd", units);
        var lines = text.Split('\n');
        Assert.Equal("a red circle", lines[0]);
        Assert.Equal("Negative prompt: blurry", lines[1]);
        Assert.StartsWith("Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 128x128, Model: tiny-sd", lines[2]);
        var parsed = Infotext.ParseParameters(text);
        Assert.Equal("1234", parsed["Seed"]);
        Assert.Equal("Module: canny, Model: controlnet-tiny-canny, Weight: 0.8, Resize Mode: Crop and Resize, Processor Res: 128, " +
                     "Pixel Perfect: True, low_threshold: 100, " +
                     "Guidance Start: 0, Guidance End: 0.5, Control Mode: Balanced", parsed["ControlNet 0"]);
        Assert.Contains("Control Mode: ControlNet is more important", parsed["ControlNet 1"]);
    }

    [Fact]
    public void Unit_window_is_half_open_so_half_the_schedule_is_half_the_steps()
    {
        var unit = new ControlUnit { Branch = new NoBranch(), Module = "m", ModelName = "n", Start = 0, End = 0.5 };
        Assert.Equal(10, Enumerable.Range(0, 20).Count(s => unit.IsActive(s, 20)));
        var none = new ControlUnit { Branch = new NoBranch(), Module = "m", ModelName = "n", Weight = 0 };
        Assert.Equal(0, Enumerable.Range(0, 20).Count(s => none.IsActive(s, 20)));
    }

    [Fact]
    public void Soft_injection_matches_sd_for_13_residuals_and_maps_other_counts()
    {
        Assert.Equal(Math.Pow(0.825, 12), DiffusionPipeline.SoftInjection(0, 13), 12);
        Assert.Equal(1.0, DiffusionPipeline.SoftInjection(12, 13), 12);
        Assert.Equal(Math.Pow(0.825, 6), DiffusionPipeline.SoftInjection(3, 7), 12);
    }

    [Fact]
    public void Soft_injection_on_SDXL_takes_the_first_ten_of_sds_thirteen_factors_as_the_extension_does()
    {
        Assert.Equal(Math.Pow(0.825, 12), DiffusionPipeline.SoftInjection(0, 10, sdxl: true), 12);
        Assert.Equal(Math.Pow(0.825, 3), DiffusionPipeline.SoftInjection(9, 10, sdxl: true), 12);
    }

    [Fact]
    public void A1111_1_9_infotexts_with_a_schedule_type_read_back_as_the_combined_sampler()
    {
        var (job, _) = ControlHost.Application.Names.Infotext.ReadJob("a cat\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x512", "test");
        Assert.Equal("DPM++ 2M Karras", job.Sampler);
        var (automatic, _) = ControlHost.Application.Names.Infotext.ReadJob("a cat\nSteps: 20, Sampler: Euler a, Schedule type: Automatic, Seed: 1", "test");
        Assert.Equal("Euler a", automatic.Sampler);
        Assert.Throws<ControlHost.Application.Errors.BadInputException>(() =>
            ControlHost.Application.Names.Infotext.ReadJob("a cat\nSteps: 20, Sampler: Euler a, Schedule type: Exponential, Seed: 1", "test"));
    }

    [Fact]
    public void An_SDXL_infotext_with_a_refiner_reads_back_with_a_warning_that_the_refiner_is_not_run()
    {
        var (job, warnings) = ControlHost.Application.Names.Infotext.ReadJob(
            "a cat\nSteps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 1024x1024, Model: sd_xl_base_1.0, Refiner: sd_xl_refiner_1.0 [7440042bbd], Refiner switch at: 0.8", "cat.png");
        Assert.Equal((1024, 1024), (job.Width, job.Height));
        var warning = Assert.Single(warnings);
        Assert.Contains("sd_xl_refiner_1.0", warning);
        Assert.Contains("not supported", warning);
    }
}
