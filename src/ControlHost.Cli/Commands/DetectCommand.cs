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
        var command = new Command("detect", "Run a preprocessor on an image and save its hint (at the input's own size)");
        foreach (var o in new Option[] { module, image, set, output, plugins }) command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            using var host = PluginHost.LoadDefault(parse.GetValue(plugins));
            var type = host.Registry.Find(parse.GetValue(module)!)
                ?? throw new UserError($"unknown module '{parse.GetValue(module)}' (known: {string.Join(", ", host.Registry.Types.Select(t => t.Id))})");
            var given = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var kv in parse.GetValue(set) ?? [])
            {
                var parts = kv.Split('=', 2);
                if (parts.Length != 2) throw new UserError($"--set '{kv}': expected key=value");
                given[parts[0].Trim()] = parts[1].Trim();
            }
            OptionValues options;
            try
            {
                options = OptionValues.Resolve(type.Options, given);
            }
            catch (ArgumentException e)
            {
                throw new UserError($"module '{type.Id}': {e.Message}");
            }
            var input = ImageIo.Load(parse.GetValue(image)!);
            var hint = type.Preprocess(input, options, CancellationToken.None);
            var outPath = parse.GetValue(output)!;
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
}
