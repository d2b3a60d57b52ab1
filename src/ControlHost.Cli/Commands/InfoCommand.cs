using System.CommandLine;
using ControlHost.Engine.Imaging;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost info FILE.png: prints the A1111 parameters text.</summary>
internal static class InfoCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var file = new Argument<string>("file") { Description = "A PNG written by ControlHost or A1111" };
        var command = new Command("info", "Print the generation parameters stored in a PNG");
        command.Arguments.Add(file);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            var path = parse.GetValue(file)!;
            var text = PngParameters.Read(path) ?? throw new UserError($"'{path}' has no 'parameters' text chunk");
            Console.WriteLine(text);
            return ExitCodes.Ok;
        }));
        return command;
    }
}
