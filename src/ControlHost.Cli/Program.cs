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
return root.Parse(args).Invoke();
