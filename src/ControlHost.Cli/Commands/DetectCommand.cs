using System.CommandLine;
using System.Text.Json;
using ControlHost.Application.Detection;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Engine.Imaging;

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
            var outPath = parse.GetValue(output)!;
            using var service = new GenerationService(new ServiceOptions { ExtraPluginFolder = parse.GetValue(plugins), Paths = PathPolicy.Local });
            var result = service.Detector().Detect(parse.GetValue(module)!, ImageSource.FromPath(parse.GetValue(image)!), given);
            PngParameters.Save(result.Image, outPath, $"Module: {result.Module}");
            if (result.Json is not null) WriteBeside(outPath, result.Json);
            if (result.Vector is not null) WriteBeside(outPath, JsonSerializer.Serialize(new { module = result.Module, vector = result.Vector }));
            if (result.Note is not null) Console.WriteLine($"note: {result.Note}");
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
