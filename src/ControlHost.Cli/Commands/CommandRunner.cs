using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;

namespace ControlHost.Cli.Commands;

/// <summary>Runs a command body and turns known failures into one line on stderr with exit code 2.</summary>
internal static class CommandRunner
{
    public static int Run(bool verbose, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            if (verbose) Console.Error.WriteLine(e);
            return ExitCodes.BadInput;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("cancelled");
            return ExitCodes.Failure;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(verbose ? e.ToString() : "(run with --verbose for details)");
            return ExitCodes.Failure;
        }
    }

    private static bool IsUserFacing(Exception e) => e is UserError or UnitException or BranchException or ModelLoadException or Plugins.PluginException
        or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
        or NotSupportedException or InvalidOperationException or Preprocessors.PreprocessorException;
}
