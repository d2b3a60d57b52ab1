using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Sources;
using ControlHost.Engine.Components;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;
using ControlHost.Plugins;

namespace ControlHost.Application.Units;

/// <summary>
/// Turns unit specs into runnable units: condition type, options, image, preprocessing, model, branch. Holds no
/// state between calls: units a plugin failure disabled come back with the result.
/// </summary>
internal sealed class UnitResolver(ConditionRegistry registry, ModelCatalog catalog, PathPolicy paths, ImageBudget budget)
{
    /// <summary>The resolved units, and the warnings: a line for each unit left out because its plugin failed (threw,
    /// hung or returned a bad hint; the other units go on) and each preprocessor's note (a fallback it used).</summary>
    public (IReadOnlyList<ControlUnit> Units, IReadOnlyList<string> Warnings) Resolve(IReadOnlyList<UnitSpec> specs,
        StableDiffusionModel model, int width, int height, CancellationToken cancellation = default, uint seed = 0)
    {
        var units = new List<ControlUnit>();
        var disabled = new List<string>();
        for (var i = 0; i < specs.Count; i++)
        {
            var spec = specs[i];
            var label = $"unit {i + 1} ({spec.Condition})";
            if (!spec.Enabled) continue;
            try
            {
                units.Add(ResolveOne(spec, i, label, model, width, height, cancellation, seed, disabled));
            }
            catch (PluginException e)
            {
                disabled.Add($"{label} disabled: {e.Message}");
            }
            catch (ServiceException) { throw; }
            catch (OperationCanceledException) { throw; }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or InvalidOperationException or Engine.Onnx.ModelLoadException)
            {
                throw new BadInputException($"units[{i}]", $"{label}: {e.Message}", e);
            }
        }
        return (units, disabled);
    }

    private ControlUnit ResolveOne(UnitSpec spec, int index, string label, StableDiffusionModel model, int width, int height,
        CancellationToken cancellation, uint seed, List<string> warnings)
    {
        if (spec.Validate() is { } problem) throw new ArgumentException(problem);
        // Options such as a pose or depth estimator name files: they too follow the path policy.
        foreach (var (key, value) in spec.Options)
            if (PathPolicy.LooksLikePath(value)) paths.CheckPath($"units[{index}].{key}", value);
        // OpenPose JSON is rendered into the ready pose hint the pose ControlNet takes.
        var isPoseJson = spec.Image.IsOpenPoseJson(paths);
        var preprocess = spec.Preprocess && !isPoseJson;
        var input = isPoseJson ? spec.Image.RenderOpenPose(paths, label, budget) : spec.Image.Load(paths, $"unit {index + 1}", budget);
        var type = Detection.ExtensionModules.Resolve(registry, catalog.Roots, spec.Condition) ?? ReadyHintType(spec, preprocess);
        var options = OptionValues.Resolve(type.Options, spec.Options);
        var pixelPerfect = spec.ProcessorResolution == 0 || !preprocess;
        if (!preprocess && type.Kind != ConditionKind.Spatial)
            throw new ArgumentException("preprocess=none takes a ready hint image; a global condition needs its preprocessor");
        ConditionHint hint;
        RgbImage? hintImage;
        try
        {
            (hint, hintImage) = HintPreparation.Prepare(type, input, options, spec.ProcessorResolution, new Canvas(width, height, spec.Resize), preprocess,
                budget, $"units[{index}].processor_res", cancellation);
        }
        catch (OperationCanceledException) { throw; }
        catch (PluginException) { throw; }
        catch (ServiceException) { throw; }
        catch (Exception e) when (preprocess)
        {
            throw new BadInputException($"units[{index}]", $"{label}: preprocessor '{type.Id}' failed: {e.Message}", e);
        }
        if (preprocess && hint.Note is { } note) warnings.Add($"{label}: {note}");
        IControlBranch branch;
        string modelName;
        if (type is IBranchConditionType branching)
        {
            // The type brings its own kind of branch (contract 1.1): no ControlNet or adapter is looked up.
            var pipeline = new Engine.Pipeline.DiffusionPipeline(model);
            var context = new BranchContext(label, hintImage is null ? hint : ConditionHint.FromImage(hintImage), options, width, height,
                image => new FloatTensor(pipeline.EncodeLatent(ImageIo.Fit(image, width, height, ResizeMode.JustResize)), 1,
                    model.Family.LatentChannels, height / model.Family.LatentFactor, width / model.Family.LatentFactor), seed);
            branch = branching.CreateBranch(context);
            modelName = type.Id;
        }
        else if (type.Kind == ConditionKind.Spatial)
        {
            var image = hintImage ?? throw new BadInputException($"units[{index}]", $"{label}: preprocessor '{type.Id}' returned no hint image");
            var folder = ResolveControlNet(spec.Model, type.ModelCondition, model, index);
            float[]? unionRow = null;
            if (folder.IsUnion)
            {
                try { unionRow = folder.UnionRow(type.ModelCondition, spec.UnionType); }
                catch (InvalidOperationException e) { throw new BadInputException($"units[{index}]", $"{label}: {e.Message}", e); }
            }
            branch = new ControlNetBranch(label, model.ControlNet(folder), image, unionRow);
            modelName = folder.Name;
        }
        else
        {
            var vector = hint.Vector ?? throw new BadInputException($"units[{index}]", $"{label}: preprocessor '{type.Id}' returned no condition vector");
            var folder = ResolveAdapter(spec.Model, type.ModelCondition, index);
            branch = new AdapterBranch(label, model.Adapter(folder), vector);
            modelName = folder.Name;
        }
        return new ControlUnit
        {
            ColourFix = ColourFixOf(type, options, hintImage, model),
            Branch = branch, Weight = spec.Weight, Start = spec.Start, End = spec.End, Mode = spec.Mode,
            Module = type.Id, ModelName = modelName, Options = options.All, Resize = spec.Resize,
            ProcessorResolution = pixelPerfect ? Math.Min(width, height) : spec.ProcessorResolution, PixelPerfect = pixelPerfect,
            Mask = spec.Mask is { } m ? RegionMask.FromImage(ImageIo.Fit(m.Load(paths, $"unit {index + 1} mask", budget), width, height, spec.Resize)) : null,
            DetectedMap = !preprocess || !spec.ReturnMap ? null
                : hintImage ?? (hint.Vector is { } v ? Detection.Detector.PictureOf(v) : null),
        };
    }

    /// <summary>
    /// The extension keys its tile colour fix on the module's name (tile_colorfix, tile_colorfix+sharp), so does this:
    /// the hint's latent and the module's variation (and sharpness) for the engine.
    /// </summary>
    private static ColourFix? ColourFixOf(IConditionType type, OptionValues options, RgbImage? hint, StableDiffusionModel model)
    {
        if (hint is null || !type.Id.StartsWith("tile_colorfix", StringComparison.OrdinalIgnoreCase)) return null;
        var latent = new Engine.Pipeline.DiffusionPipeline(model).EncodeLatent(hint);
        return new ColourFix(latent, options.GetInt("variation"),
            type.Id.EndsWith("+sharp", StringComparison.OrdinalIgnoreCase) ? options.GetDouble("sharpness") : null);
    }

    /// <summary>A ready hint for a ControlNet condition no registered type covers; otherwise the registry's error.</summary>
    private IConditionType ReadyHintType(UnitSpec spec, bool preprocess)
    {
        var hasControlNet = catalog.ControlNets.Any(c => string.Equals(c.Condition, spec.Condition, StringComparison.OrdinalIgnoreCase));
        if (!preprocess && (hasControlNet || spec.Model is not null)) return new ReadyHintCondition(spec.Condition);
        if (Detection.ExtensionModules.Missing(spec.Condition, catalog.Roots) is { } missing) throw new ArgumentException(missing);
        var known = registry.Types.Select(t => t.Id).Concat(catalog.ControlNets.Select(c => c.Condition + " (preprocess=none)")).Distinct();
        throw new ArgumentException(hasControlNet
            ? $"condition '{spec.Condition}' has a ControlNet but no preprocessor here; pass a ready hint with preprocess=none"
            : $"unknown condition '{spec.Condition}' (known: {string.Join(", ", known.DefaultIfEmpty("none"))})");
    }

    private ControlNetFolder ResolveControlNet(string? nameOrPath, string condition, StableDiffusionModel model, int index)
    {
        if (nameOrPath is not null && PathPolicy.LooksLikePath(nameOrPath)) paths.CheckPath($"units[{index}].model", nameOrPath);
        return catalog.ResolveControlNet(nameOrPath, condition, model.Name, model.Folder.Family);
    }

    private AdapterFolder ResolveAdapter(string? nameOrPath, string condition, int index)
    {
        if (nameOrPath is not null && PathPolicy.LooksLikePath(nameOrPath))
        {
            paths.CheckPath($"units[{index}].model", nameOrPath);
            if (Directory.Exists(nameOrPath)) return AdapterFolder.Open(nameOrPath);
        }
        return catalog.Adapters.FirstOrDefault(a => nameOrPath is null
                   ? string.Equals(a.Condition, condition, StringComparison.OrdinalIgnoreCase)
                   : string.Equals(a.Name, nameOrPath, StringComparison.OrdinalIgnoreCase))
               ?? throw new DirectoryNotFoundException(nameOrPath is null
                   ? $"no adapter for condition '{condition}' (a folder with model.onnx and adapter.json)"
                   : $"adapter '{nameOrPath}' not found");
    }
}
