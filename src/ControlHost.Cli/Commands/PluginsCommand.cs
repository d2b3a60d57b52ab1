using System.CommandLine;
using ControlHost.Plugins;

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
            foreach (var plugin in host.Loaded)
            {
                Console.WriteLine($"{plugin.Manifest.Id} {plugin.Manifest.Version} (contract {plugin.Manifest.Contract}): {plugin.Manifest.Description}");
                Console.WriteLine($"    from {plugin.Manifest.Folder}");
                foreach (var type in plugin.ConditionTypes)
                {
                    var aliases = type.Aliases.Count == 0 ? "" : $" (aliases: {string.Join(", ", type.Aliases)})";
                    Console.WriteLine($"    condition {type.Id}{aliases} [{type.Kind.ToString().ToLowerInvariant()}]: {type.Description}");
                    foreach (var o in type.Options)
                        Console.WriteLine($"        {o.Name} = {o.Default}{(o.Min is null && o.Max is null ? "" : $" ({o.Min}..{o.Max})")}: {o.Help}");
                }
            }
            foreach (var failed in host.Failed)
                Console.WriteLine($"failed: {failed.Id ?? "?"} ({failed.Folder}): {failed.Reason}");
            Console.WriteLine($"{host.Loaded.Count} loaded, {host.Failed.Count} failed; host contract {Abstractions.ContractVersion.Text}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
