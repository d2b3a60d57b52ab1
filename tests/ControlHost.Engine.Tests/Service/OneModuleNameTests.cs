using ControlHost.Abstractions;
using ControlHost.Application.Detection;
using ControlHost.Application.Units;
using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests.Service;

/// <summary>A module name means the same preprocessor in detect, in the module list and in a unit.</summary>
public class OneModuleNameTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    private Detector Detector => new(() => f.Registry, f.Service.Paths);

    // Modules that need a model file or make a hint no ControlNet of the family takes are left out of the pixel
    // comparison; every other built-in name a condition type answers to is compared.
    private static readonly HashSet<string> NeedsAModel = new(StringComparer.OrdinalIgnoreCase) { "openpose" };

    [Fact]
    public void Every_name_a_condition_answers_to_runs_the_same_module_as_the_module_registry()
    {
        var image = EmbeddedModelFixture.Scene(1);
        var compared = 0;
        foreach (var pre in PreprocessorRegistry.All)
        {
            foreach (var name in pre.Aliases.Prepend(pre.Name))
            {
                var type = f.Registry.Find(name);
                if (type is null || NeedsAModel.Contains(pre.Name)) continue;
                var options = OptionValues.Resolve(type.Options, null);
                var viaCondition = type.Preprocess(image, options, CancellationToken.None);
                var viaModule = PreprocessorRegistry.Run(pre, image);
                if (type.Kind == ConditionKind.Global) Assert.Equal(viaModule.Vector, viaCondition.Vector);
                else Assert.True(viaModule.Image.Pixels.AsSpan().SequenceEqual(viaCondition.Image!.Pixels), $"'{name}': the condition '{type.Id}' made another hint than module '{pre.Name}'");
                Assert.Equal(type.Id, Detector.Detect(name, image).Module);
                compared++;
            }
        }
        Assert.True(compared >= 40, $"only {compared} names compared");
    }

    [Fact]
    public void Depth_without_an_estimator_is_the_same_fallback_in_detect_and_in_a_unit_and_both_say_so()
    {
        var map = EmbeddedModelFixture.Scene(0);
        var detected = Detector.Detect("depth", map);
        Assert.Contains("estimator=PATH.onnx", detected.Note);
        Assert.Equal(Depth.Normalise(map).Pixels, detected.Image.Pixels);

        var job = EmbeddedModelFixture.Job("a red square", 3, new UnitSpec { Condition = "depth_midas", Image = map });
        job = job with { Steps = 2 };
        var output = f.Service.Generate(job);
        Assert.Contains(output.Warnings, w => w.StartsWith("unit 1 (depth_midas)") && w.Contains("taken as a depth map"));
    }

    [Fact]
    public void The_module_list_puts_each_name_once_and_condition_types_first()
    {
        var list = ModuleDirectory.List(f.Registry);
        var names = list.SelectMany(m => m.Aliases.Prepend(m.Name)).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        var firstPlain = list.ToList().FindIndex(m => m.ModelCondition is null);
        Assert.All(list.Take(firstPlain), m => Assert.NotNull(m.ModelCondition));
        Assert.All(list.Skip(firstPlain), m => Assert.Null(m.ModelCondition));
        // A condition's aliases are its module's: declared once.
        var depth = list.Single(m => m.Name == "depth");
        Assert.Equal(Depth.Module.Aliases, depth.Aliases);
        Assert.Contains(list, m => m.Name == "mask_box" && m.ModelCondition is null);
        Assert.Contains(depth.Options, o => o.Name == "resolution");
    }

    [Fact]
    public void A_module_condition_keeps_the_module_json_and_note_and_honours_cancellation()
    {
        var module = new PreprocessorModule("probe", ["probe_alias"], "test module", [],
            (i, _) => new PreprocessorResult(i, Json: "{\"people\": []}", Note: "made by the probe"));
        var condition = new ModuleCondition(module, "canny");
        Assert.Equal(["probe_alias"], condition.Aliases);
        var hint = condition.Preprocess(RgbImage.Black(8, 8), OptionValues.Resolve([], null), CancellationToken.None);
        Assert.Equal("{\"people\": []}", hint.Json);
        Assert.Equal("made by the probe", hint.Note);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => condition.Preprocess(RgbImage.Black(8, 8), OptionValues.Resolve([], null), cancelled.Token));
        var global = new ModuleCondition(ColourHistogram.Module, "colour", ConditionKind.Global);
        Assert.Equal(ColourHistogram.Bins, global.Preprocess(EmbeddedModelFixture.Scene(1), OptionValues.Resolve([], null), CancellationToken.None).Vector!.Length);
    }
}
