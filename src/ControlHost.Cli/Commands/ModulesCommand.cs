using System.CommandLine;
using ControlHost.Application.Detection;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost modules: every module name (condition types and their aliases, then the other built-in
/// modules) with its options, as <c>detect</c> and <c>--control</c> resolve them.</summary>
internal static class ModulesCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var plugins = new Option<string?>("--plugins") { Description = "An extra folder of plugins to load" };
        var command = new Command("modules", "List preprocessor modules and their options");
        command.Options.Add(plugins);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            using var service = new ControlHost.Application.Generation.GenerationService(new ControlHost.Application.Generation.ServiceOptions
            {
                ExtraPluginFolder = parse.GetValue(plugins), Paths = ControlHost.Application.Sources.PathPolicy.Local,
            });
            var modules = ModuleDirectory.List(service.Conditions);
            Console.WriteLine("condition types (generate --control NAME=IMAGE and detect -m NAME run the same module):");
            foreach (var m in modules.Where(m => m.ModelCondition is not null))
                Print(m, $" [{m.Kind.ToString()!.ToLowerInvariant()}, model condition '{m.ModelCondition}']");
            Console.WriteLine();
            Console.WriteLine("other modules (detect only):");
            foreach (var m in modules.Where(m => m.ModelCondition is null)) Print(m, "");
            return ExitCodes.Ok;
        }));
        return command;
    }

    private static void Print(ModuleInfo m, string tail)
    {
        var aliases = m.Aliases.Count == 0 ? "" : $" (aliases: {string.Join(", ", m.Aliases)})";
        Console.WriteLine($"{m.Name}{aliases}: {m.Description}{tail}");
        foreach (var o in m.Options)
        {
            var range = o.Min is null && o.Max is null ? "" : $", {o.Min}..{o.Max}";
            Console.WriteLine($"    {o.Name} = {o.Default} ({o.Kind.ToString().ToLowerInvariant()}{range}): {o.Help}");
        }
    }
}
