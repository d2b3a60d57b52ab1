using System.CommandLine;
using ControlHost.Engine.Models;

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
            // Plain lines, one per model, so that scripts can read them.
            foreach (var m in catalog.Models)
                Console.WriteLine($"model       {Path.GetFileName(m),-28} {m}{(ModelCatalog.IsInpainting(m) ? "  (inpainting UNet)" : "")}");
            foreach (var c in catalog.ControlNets)
                Console.WriteLine($"controlnet  {c.Name,-28} condition={c.Condition} base={c.Base ?? "?"}  {c.Root}");
            foreach (var a in catalog.Adapters)
                Console.WriteLine($"adapter     {a.Name,-28} condition={a.Condition} base={a.Base ?? "?"}  {a.Root}");
            var files = catalog.Files;
            foreach (var f in files.Checkpoints) Console.WriteLine($"checkpoint  {Path.GetFileNameWithoutExtension(f),-28} {f}");
            foreach (var f in files.ControlNets)
                Console.WriteLine($"controlnet  {Path.GetFileNameWithoutExtension(f),-28} condition={Checkpoints.Import.ControlNetNames.ConditionOf(Path.GetFileNameWithoutExtension(f))}  {f}");
            foreach (var f in files.Loras) Console.WriteLine($"lora        {Path.GetFileNameWithoutExtension(f),-28} {f}");
            foreach (var f in files.Embeddings) Console.WriteLine($"embedding   {Path.GetFileNameWithoutExtension(f),-28} {f}");
            Console.WriteLine($"searched: {string.Join(", ", catalog.Roots.DefaultIfEmpty("nothing"))}");
            foreach (var s in files.Skipped) Console.WriteLine($"skipped: {s}");
            foreach (var p in catalog.Problems) Console.WriteLine($"skipped: {p}");
            return ExitCodes.Ok;
        }));
        return command;
    }
}
