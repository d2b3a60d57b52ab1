using System.CommandLine;
using ControlHost.Engine.Models;
using Spectre.Console;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost models: the base models, ControlNets and adapters found.</summary>
internal static class ModelsCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var dir = new Option<string?>("--models-dir") { Description = "An extra folder to search" };
        var command = new Command("models", "List the models, ControlNets and adapters found");
        command.Options.Add(dir);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            var catalog = ModelCatalog.Default(parse.GetValue(dir));
            var table = new Table().AddColumn("kind").AddColumn("name").AddColumn("condition").AddColumn("base").AddColumn("folder");
            foreach (var m in catalog.Models) table.AddRow("model", Path.GetFileName(m), "", "", Markup.Escape(m));
            foreach (var c in catalog.ControlNets) table.AddRow("controlnet", c.Name, c.Condition, c.Base ?? "", Markup.Escape(c.Root));
            foreach (var a in catalog.Adapters) table.AddRow("adapter", a.Name, a.Condition, a.Base ?? "", Markup.Escape(a.Root));
            AnsiConsole.Write(table);
            Console.WriteLine($"searched: {string.Join(", ", catalog.Roots.DefaultIfEmpty("nothing"))}");
            foreach (var p in catalog.Problems) Console.WriteLine($"skipped: {p}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
