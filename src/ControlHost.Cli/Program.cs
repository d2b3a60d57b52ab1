using System.CommandLine;
using ControlHost.Cli;
using ControlHost.Cli.Commands;

var verbose = new Option<bool>("--verbose") { Description = "Print stack traces with errors", Recursive = true };
var root = new RootCommand("ControlHost: controllable image generation on ONNX Runtime");
root.Options.Add(verbose);
root.Subcommands.Add(GenerateCommand.Build(verbose));
root.Subcommands.Add(ModelsCommand.Build(verbose));
root.Subcommands.Add(InfoCommand.Build(verbose));
root.Subcommands.Add(PluginsCommand.Build(verbose));
root.Subcommands.Add(ModulesCommand.Build(verbose));
root.Subcommands.Add(DetectCommand.Build(verbose));
root.Subcommands.Add(PlaceCommand.Build(verbose));
root.Subcommands.Add(SuggestBoxesCommand.Build(verbose));
root.Subcommands.Add(UpscaleCommand.Build(verbose));
root.Subcommands.Add(ServeCommand.Build(verbose));
root.Subcommands.Add(WorkerCommand.Build(verbose));
root.Subcommands.Add(ImportCommand.Build(verbose));

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    // Malformed command lines are bad input too: one line each, exit code 2.
    foreach (var error in parse.Errors) Console.Error.WriteLine($"error: {error.Message}");
    Console.Error.WriteLine("(see 'controlhost --help')");
    return ExitCodes.BadInput;
}
return parse.Invoke();
