using ControlHost.Abstractions;
using ControlHost.Engine.Components;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Models;

namespace ControlHost.Engine.Conditioning;

/// <summary>Turns unit requests into runnable units: condition type, options, preprocessing, model, branch.</summary>
public sealed class UnitResolver(ConditionRegistry registry, ModelCatalog catalog)
{
    /// <summary>
    /// Units left out of the last <see cref="Resolve"/> because their plugin failed (threw, hung or returned a bad
    /// hint), each with the reason. The other units go on.
    /// </summary>
    public List<string> Disabled { get; } = [];

    /// <exception cref="UnitException">A unit is invalid; the message names the unit and the problem.</exception>
    public IReadOnlyList<ControlUnit> Resolve(IReadOnlyList<UnitRequest> requests, StableDiffusionModel model, int width, int height,
        CancellationToken cancellation = default)
    {
        var units = new List<ControlUnit>();
        Disabled.Clear();
        for (var i = 0; i < requests.Count; i++)
        {
            var request = requests[i];
            var label = $"unit {i + 1} ({request.Condition})";
            try
            {
                units.Add(ResolveOne(request, label, model, width, height, cancellation));
            }
            catch (PluginFailure e)
            {
                Disabled.Add($"{label} disabled: {e.Message}");
            }
            catch (UnitException) { throw; }
            catch (OperationCanceledException) { throw; }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or InvalidOperationException or Onnx.ModelLoadException)
            {
                throw new UnitException($"{label}: {e.Message}", e);
            }
        }
        return units;
    }

    private ControlUnit ResolveOne(UnitRequest request, string label, StableDiffusionModel model, int width, int height,
        CancellationToken cancellation)
    {
        if (request.Validate() is { } problem) throw new ArgumentException(problem);
        var type = registry.Find(request.Condition) ?? ReadyHintType(request);
        var options = OptionValues.Resolve(type.Options, request.Options);
        var pixelPerfect = request.ProcessorResolution == 0 || !request.Preprocess;
        var fitted = pixelPerfect
            ? ImageIo.Fit(request.Image, width, height, request.Resize)
            : ImageIo.ScaleShortSide(request.Image, request.ProcessorResolution);
        ConditionHint hint;
        if (!request.Preprocess)
        {
            if (type.Kind != ConditionKind.Spatial) throw new ArgumentException("preprocess=none takes a ready hint image; a global condition needs its preprocessor");
            hint = ConditionHint.FromImage(fitted);
        }
        else
        {
            try
            {
                hint = type.Preprocess(fitted, options, cancellation);
            }
            catch (OperationCanceledException) { throw; }
            catch (ConditionPluginException e)
            {
                // A plugin's own failure (reported by the plugin host's guard): this unit only is disabled.
                throw new PluginFailure(e.Message, e);
            }
            catch (Exception e)
            {
                throw new UnitException($"{label}: preprocessor '{type.Id}' failed: {e.Message}", e);
            }
        }

        IControlBranch branch;
        string modelName;
        if (type.Kind == ConditionKind.Spatial)
        {
            var image = hint.Image ?? throw new UnitException($"{label}: preprocessor '{type.Id}' returned no hint image");
            // Pixel perfect: the input was fitted already, so only a preprocessor that changed the size is stretched back.
            image = ImageIo.Fit(image, width, height, pixelPerfect ? ResizeMode.JustResize : request.Resize);
            var folder = catalog.ResolveControlNet(request.Model, type.ModelCondition, model.Name);
            branch = new ControlNetBranch(label, model.ControlNet(folder), image);
            modelName = folder.Name;
        }
        else
        {
            var vector = hint.Vector ?? throw new UnitException($"{label}: preprocessor '{type.Id}' returned no condition vector");
            var folder = ResolveAdapter(request.Model, type.ModelCondition);
            branch = new AdapterBranch(label, model.Adapter(folder), vector);
            modelName = folder.Name;
        }
        return new ControlUnit
        {
            Branch = branch, Weight = request.Weight, Start = request.Start, End = request.End, Mode = request.Mode,
            Module = type.Id, ModelName = modelName, Options = options.All, ResizeModeText = ResizeText(request.Resize),
            ProcessorResolution = pixelPerfect ? Math.Min(width, height) : request.ProcessorResolution, PixelPerfect = pixelPerfect,
            Mask = request.Mask is { } m ? RegionMask.FromImage(ImageIo.Fit(m, width, height, request.Resize)) : null,
        };
    }

    /// <summary>A ready hint for a ControlNet condition no registered type covers; otherwise the registry's error.</summary>
    private IConditionType ReadyHintType(UnitRequest request)
    {
        var hasControlNet = catalog.ControlNets.Any(c => string.Equals(c.Condition, request.Condition, StringComparison.OrdinalIgnoreCase));
        if (!request.Preprocess && (hasControlNet || request.Model is not null)) return new ReadyHintCondition(request.Condition);
        var known = registry.Types.Select(t => t.Id).Concat(catalog.ControlNets.Select(c => c.Condition + " (preprocess=none)")).Distinct();
        throw new ArgumentException(hasControlNet
            ? $"condition '{request.Condition}' has a ControlNet but no preprocessor here; pass a ready hint with preprocess=none"
            : $"unknown condition '{request.Condition}' (known: {string.Join(", ", known.DefaultIfEmpty("none"))})");
    }

    private AdapterFolder ResolveAdapter(string? nameOrPath, string condition)
    {
        if (nameOrPath is not null && Directory.Exists(nameOrPath)) return AdapterFolder.Open(nameOrPath);
        return catalog.Adapters.FirstOrDefault(a => nameOrPath is null
                   ? string.Equals(a.Condition, condition, StringComparison.OrdinalIgnoreCase)
                   : string.Equals(a.Name, nameOrPath, StringComparison.OrdinalIgnoreCase))
               ?? throw new DirectoryNotFoundException(nameOrPath is null
                   ? $"no adapter for condition '{condition}' (a folder with model.onnx and adapter.json)"
                   : $"adapter '{nameOrPath}' not found");
    }

    public static string ResizeText(ResizeMode mode) => mode switch
    {
        ResizeMode.JustResize => "Just Resize",
        ResizeMode.ResizeAndFill => "Resize and Fill",
        _ => "Crop and Resize",
    };
}

/// <summary>A condition type supplied by a plugin misbehaved; the message names the plugin.</summary>
public class ConditionPluginException(string pluginId, string message, Exception? inner = null) : Exception(message, inner)
{
    public string PluginId { get; } = pluginId;
}

/// <summary>A plugin failed while preparing a unit: the unit is disabled and the generation goes on.</summary>
internal sealed class PluginFailure(string message, Exception inner) : Exception(message, inner);

/// <summary>A unit could not be set up; the message names the unit.</summary>
public sealed class UnitException(string message, Exception? inner = null) : Exception(message, inner);
