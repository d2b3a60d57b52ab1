using System.CommandLine;
using ControlHost.Application.Generation;
using ControlHost.Checkpoints.Import;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost import FILE.safetensors --out DIR: a user's checkpoint or ControlNet as a diffusers ONNX folder.</summary>
internal static class ImportCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var file = new Argument<string>("file") { Description = "An SD 1.x or SD 2.x .safetensors checkpoint or ControlNet (or an SD 1.x diffusers folder)" };
        var output = new Option<string>("--out", "-o") { Description = "The folder to write (must not exist)", Required = true };
        var command = new Command("import", "Build ONNX graphs for a .safetensors checkpoint or ControlNet and write them as a model folder " +
                                            "(the diffusers ONNX layout, usable by other ONNX Runtime hosts too)");
        command.Arguments.Add(file);
        command.Options.Add(output);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            using var service = new GenerationService();
            var tokenizer = service.Built.TokenizerDir;
            var progress = new LineProgress();
            var result = CheckpointImporter.Import(parse.GetValue(file)!, parse.GetValue(output)!, tokenizer, progress,
                Application.UserModels.VelocityProbe.PredictsVelocity);
            Console.WriteLine($"imported {result.Recognised.Describe()} to {result.Folder} " +
                              $"({result.WeightBytes / 1e9:0.00} GB of float32 weights, {result.Elapsed.TotalSeconds:0.0} s)");
            foreach (var note in result.Notes) Console.WriteLine($"  {note}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}

/// <summary>Each report as a line on stderr, on the reporting thread (so lines keep their order).</summary>
internal sealed class LineProgress : IProgress<string>
{
    public void Report(string value) => Console.Error.WriteLine(value);
}
