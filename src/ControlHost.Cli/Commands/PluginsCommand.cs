using System.CommandLine;
using ControlHost.Plugins;
using Spectre.Console;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost plugins: loaded plugins with their condition types and options, and the ones that failed.</summary>
internal static class PluginsCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var dir = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };
        var command = new Command("plugins", "List plugins, their condition types and options");
        command.Options.Add(dir);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            using var host = PluginHost.LoadDefault(parse.GetValue(dir));
            var table = new Table().AddColumn("plugin").AddColumn("condition").AddColumn("kind").AddColumn("options (default, range)").AddColumn("description");
            foreach (var plugin in host.Loaded)
                foreach (var type in plugin.ConditionTypes)
                {
                    var options = string.Join("\n", type.Options.Select(o =>
                        $"{o.Name}={o.Default}" + (o.Min is null && o.Max is null ? "" : $" [{o.Min}..{o.Max}]")));
                    var names = type.Aliases.Count == 0 ? type.Id : $"{type.Id} ({string.Join(", ", type.Aliases)})";
                    table.AddRow(Markup.Escape($"{plugin.Manifest.Id} {plugin.Manifest.Version}"), Markup.Escape(names), type.Kind.ToString(),
                        Markup.Escape(options), Markup.Escape(type.Description));
                }
            AnsiConsole.Write(table);
            foreach (var failed in host.Failed)
                Console.WriteLine($"failed: {failed.Id ?? "?"} ({failed.Folder}): {failed.Reason}");
            Console.WriteLine($"{host.Loaded.Count} loaded, {host.Failed.Count} failed; contract {Abstractions.ContractVersion.Text}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
