using System.CommandLine;
using System.Text.Json;
using ControlHost.Abstractions;
using ControlHost.Engine.Imaging;
using ControlHost.Plugins;
using ControlHost.Preprocessors;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost detect: run one preprocessor (module) on an image and save the hint.</summary>
internal static class DetectCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var module = new Option<string>("--module", "-m") { Description = "Module (condition type or alias), e.g. canny", Required = true };
        var image = new Option<string>("--image", "-i") { Description = "Input image", Required = true };
        var set = new Option<string[]>("--set") { Description = "An option as key=value; repeatable", DefaultValueFactory = _ => [] };
        var output = new Option<string>("--out", "-o") { Description = "Hint PNG to write (global modules also write a .json vector beside it)", Required = true };
        var plugins = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };
        var command = new Command("detect", "Run a preprocessor on an image and save its hint (at the input's own size unless --set resolution=N)");
        foreach (var o in new Option[] { module, image, set, output, plugins }) command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            var given = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var kv in parse.GetValue(set) ?? [])
            {
                var parts = kv.Split('=', 2);
                if (parts.Length != 2) throw new UserError($"--set '{kv}': expected key=value");
                given[parts[0].Trim()] = parts[1].Trim();
            }
            var imagePath = parse.GetValue(image)!;
            var outPath = parse.GetValue(output)!;
            // A mask from transparency needs the alpha channel, which the RGB preprocessors never see.
            if (parse.GetValue(module)!.ToLowerInvariant() is "mask_alpha" or "alpha_mask")
            {
                var (alpha, w, h) = ImageIo.LoadAlpha(imagePath);
                var values = OptionValues.Resolve(Masks.AdjustOptions, given);
                var mask = Masks.Adjust(Masks.FromAlpha(alpha, w, h), values.GetInt("grow"), values.GetDouble("feather"), values.GetBool("invert"));
                PngParameters.Save(mask, outPath, "Module: mask_alpha");
                Console.WriteLine($"wrote {outPath}");
                return ExitCodes.Ok;
            }
            // Built-in preprocessors first (sd-webui-controlnet module names), then condition types from plugins.
            if (PreprocessorRegistry.Find(parse.GetValue(module)!) is { } pre)
            {
                var result = PreprocessorRegistry.Run(pre.Name, ImageIo.Load(imagePath), given, Path.GetFileName(imagePath));
                PngParameters.Save(result.Image, outPath, $"Module: {pre.Name}");
                if (result.Json is not null) WriteBeside(outPath, result.Json);
                if (result.Vector is not null) WriteBeside(outPath, JsonSerializer.Serialize(new { module = pre.Name, vector = result.Vector }));
                if (result.Note is not null) Console.WriteLine($"note: {result.Note}");
                Console.WriteLine($"wrote {outPath}");
                return ExitCodes.Ok;
            }
            using var host = PluginHost.LoadDefault(parse.GetValue(plugins));
            var type = host.Registry.Find(parse.GetValue(module)!)
                ?? throw new UserError($"unknown module '{parse.GetValue(module)}' (known: " +
                    $"{string.Join(", ", PreprocessorRegistry.All.Select(p => p.Name).Concat(host.Registry.Types.Select(t => t.Id)).Distinct())}; see 'controlhost modules')");
            OptionValues options;
            try
            {
                options = OptionValues.Resolve(type.Options, given);
            }
            catch (ArgumentException e)
            {
                throw new UserError($"module '{type.Id}': {e.Message}");
            }
            var input = ImageIo.Load(imagePath);
            var hint = type.Preprocess(input, options, CancellationToken.None);
            if (hint.Image is { } hintImage)
            {
                PngParameters.Save(hintImage, outPath, $"Module: {type.Id}");
            }
            else
            {
                var vector = hint.Vector!;
                var jsonPath = Path.ChangeExtension(outPath, ".json");
                File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { module = type.Id, vector }));
                var picture = vector.Length == ColourHistogram.Bins ? ColourHistogram.Visualise(vector, 360, 48) : RgbImage.Black(8, 8);
                PngParameters.Save(picture, outPath, $"Module: {type.Id}");
                Console.WriteLine($"wrote {jsonPath}");
            }
            Console.WriteLine($"wrote {outPath}");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void WriteBeside(string pngPath, string json)
    {
        var jsonPath = Path.ChangeExtension(pngPath, ".json");
        File.WriteAllText(jsonPath, json);
        Console.WriteLine($"wrote {jsonPath}");
    }
}
