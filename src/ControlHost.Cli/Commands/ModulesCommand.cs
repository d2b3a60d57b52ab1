using System.CommandLine;
using ControlHost.Plugins;
using ControlHost.Preprocessors;

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
            Console.WriteLine("preprocessors (every one also takes resolution = 0: the short side to work at, 0 = the input's size):");
            foreach (var pre in PreprocessorRegistry.All)
            {
                var aliases = pre.Aliases.Count == 0 ? "" : $" (aliases: {string.Join(", ", pre.Aliases)})";
                Console.WriteLine($"{pre.Name}{aliases}: {pre.Description}");
                foreach (var o in pre.Options) Console.WriteLine(Describe(o));
            }
            Console.WriteLine("mask_alpha (aliases: alpha_mask): mask from transparency: alpha below 128 is the region to generate (PNG with alpha)");
            foreach (var o in Masks.AdjustOptions) Console.WriteLine(Describe(o));
            Console.WriteLine();
            Console.WriteLine("condition types (from plugins; use them in generate --control TYPE=IMAGE):");
            using var host = PluginHost.LoadDefault(parse.GetValue(plugins));
            foreach (var type in host.Registry.Types.OrderBy(t => t.Id, StringComparer.Ordinal))
            {
                var aliases = type.Aliases.Count == 0 ? "" : $" (aliases: {string.Join(", ", type.Aliases)})";
                Console.WriteLine($"{type.Id}{aliases}: {type.Description} [{type.Kind.ToString().ToLowerInvariant()}, model condition '{type.ModelCondition}']");
                foreach (var o in type.Options) Console.WriteLine(Describe(o));
            }
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static string Describe(ControlHost.Abstractions.OptionSpec o)
    {
        var range = o.Min is null && o.Max is null ? "" : $", {o.Min}..{o.Max}";
        return $"    {o.Name} = {o.Default} ({o.Kind.ToString().ToLowerInvariant()}{range}): {o.Help}";
    }
}
