using System.CommandLine;
using ControlHost.Plugins;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost modules: every module name (condition types and their aliases) with its options.</summary>
internal static class ModulesCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var plugins = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };
        var command = new Command("modules", "List preprocessor modules and their options");
        command.Options.Add(plugins);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            using var host = PluginHost.LoadDefault(parse.GetValue(plugins));
            foreach (var type in host.Registry.Types.OrderBy(t => t.Id, StringComparer.Ordinal))
            {
                var aliases = type.Aliases.Count == 0 ? "" : $" (aliases: {string.Join(", ", type.Aliases)})";
                Console.WriteLine($"{type.Id}{aliases}: {type.Description} [{type.Kind.ToString().ToLowerInvariant()}, model condition '{type.ModelCondition}']");
                foreach (var o in type.Options)
                {
                    var range = o.Min is null && o.Max is null ? "" : $", {o.Min}..{o.Max}";
                    Console.WriteLine($"    {o.Name} = {o.Default} ({o.Kind.ToString().ToLowerInvariant()}{range}): {o.Help}");
                }
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
