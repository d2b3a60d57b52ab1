using System.CommandLine;
using ControlHost.Application.Errors;
using ControlHost.Application.Placement;
using ControlHost.Application.Sources;

namespace ControlHost.Cli.Commands;

/// <summary>controlhost suggest-boxes: ranked places for an object of a given size, with each score's parts.</summary>
internal static class SuggestBoxesCommand
{
    public static Command Build(Option<bool> verbose)
    {
        var background = new Option<string>("--background", "-b") { Description = "The picture to place an object into", Required = true };
        var size = new Option<string>("--size") { Description = "The object's size w,h in pixels", Required = true };
        var count = new Option<int>("--count") { Description = "How many boxes (default 5)", DefaultValueFactory = _ => 5 };
        var freeOnly = new Option<bool>("--free-space-only") { Description = "Score free space alone (pictures with no ground plane: diagrams, flat scenes)" };
        var command = new Command("suggest-boxes", "Propose boxes where an object of a size would fit (free space, support below, perspective)");
        foreach (var o in new Option[] { background, size, count, freeOnly }) command.Options.Add(o);
        command.SetAction(parse => CommandRunner.Run(parse.GetValue(verbose), () =>
        {
            var parts = parse.GetValue(size)!.Split(',', 'x');
            if (parts.Length != 2 || !int.TryParse(parts[0], out var w) || !int.TryParse(parts[1], out var h))
                throw new UserError($"--size '{parse.GetValue(size)}': expected w,h in pixels, e.g. 40,60");
            var image = ImageSource.FromPath(parse.GetValue(background)!).Load(PathPolicy.Local, "background");
            var boxes = BoxSuggester.Suggest(image, w, h, parse.GetValue(count), parse.GetValue(freeOnly) ? SuggestWeights.FreeSpaceOnly : SuggestWeights.Default);
            Console.WriteLine("rank  box (x,y,w,h)        cover  score  free  support  scale");
            for (var i = 0; i < boxes.Count; i++)
            {
                var b = boxes[i];
                Console.WriteLine($"{i + 1,4}  {b.Box,-18}  {b.Coverage,5:0.000}  {b.Score,5:0.000}  {b.FreeSpace,4:0.00}  {b.Support,7:0.00}  {b.Scale,5:0.00}");
            }
            return ExitCodes.Ok;
        }));
        return command;
    }
}
