using System.CommandLine;
using ControlHost.Application.Generation;
using ControlHost.Application.Sources;
using ControlHost.Application.Upscaling;
using ControlHost.Engine.Imaging;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost upscale: A1111's extras upscale (the same as /sdapi/v1/extra-single-image) on a file.</summary>
internal static class UpscaleCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var image = new Option<string>("--image", "-i") { Description = "The image to upscale", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output PNG", Required = true };
        var upscaler = new Option<string>("--upscaler") { Description = "Lanczos, Nearest, None, or an ESRGAN-type ONNX upscaler by file stem (ESRGAN/, RealESRGAN/, upscale_models/)", DefaultValueFactory = _ => "Lanczos" };
        var scale = new Option<double?>("--scale") { Description = "Upscale by this factor (default 2)" };
        var size = new Option<string?>("--size") { Description = "Upscale to WxH instead (scaled to cover, the centre kept)" };
        var second = new Option<string>("--upscaler-2") { Description = "A second upscaler blended over the first", DefaultValueFactory = _ => "None" };
        var visibility = new Option<double>("--visibility-2") { Description = "How much of the second upscaler's result shows (0..1)" };
        var modelsDir = new Option<string?>("--models-dir") { Description = "A models folder to search first for upscaler files" };
        var command = new Command("upscale", "Upscale an image (A1111's extras tab: Lanczos, Nearest, or your ONNX upscaler)");
        foreach (var o in new Option[] { image, output, upscaler, scale, size, second, visibility, modelsDir }) command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            using var service = new GenerationService(new ServiceOptions { Paths = PathPolicy.Local, ExtraModelRoot = parse.GetValue(modelsDir) });
            var files = service.Catalog.Files.Upscalers;
            string Name(Option<string> option) => Upscalers.Canonical(parse.GetValue(option), files)
                ?? throw new UserError($"{option.Name} {parse.GetValue(option)}: not an upscaler here (known: {string.Join(", ", Upscalers.NamesWith(files))})");
            var (first, other) = (Name(upscaler), Name(second));
            if (parse.GetValue(visibility) is < 0 or > 1) throw new UserError("--visibility-2: 0..1");
            int? toWidth = null, toHeight = null;
            if (parse.GetValue(size) is { } text)
            {
                var wh = text.ToLowerInvariant().Split('x');
                if (wh.Length != 2 || !int.TryParse(wh[0], out var w) || !int.TryParse(wh[1], out var h) || w < 1 || h < 1)
                    throw new UserError($"--size {text}: expected WxH in pixels, e.g. 1024x768");
                (toWidth, toHeight) = (w, h);
            }
            var source = ImageSource.FromPath(parse.GetValue(image)!).Load(service.Paths, "image", service.Images);
            var (width, height) = Upscalers.TargetSize(source.Width, source.Height, parse.GetValue(scale) ?? 2, toWidth, toHeight, service.Images, "size");
            var result = Upscalers.Extras(source, first, other, parse.GetValue(visibility), width, height, crop: toWidth is not null, files);
            PngParameters.Save(result, parse.GetValue(output)!, null);
            Console.WriteLine($"saved {parse.GetValue(output)} ({result.Width}x{result.Height}, {first}{(other == "None" ? "" : $" + {other}")})");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
