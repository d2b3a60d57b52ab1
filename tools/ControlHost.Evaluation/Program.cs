namespace ControlHost.Evaluation;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("usage: controlhost-eval (adherence suites arrive with the forge's evaluation stage)");
        return args.Length == 0 ? 2 : 0;
    }
}
