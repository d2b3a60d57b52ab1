using ControlHost.Application.Errors;

namespace ControlHost.Cli.Commands;

/// <summary>
/// Runs a command body and reports failures as one line on stderr: bad input and not-found exit 2, internal faults
/// exit 1 with a pointer to --verbose for the stack.
/// </summary>
internal static class CommandRunner
{
    public static int Run(bool verbose, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is UserError or ServiceException { Kind: not ErrorKind.Internal } || IsUserFacing(e))
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

    // Commands that read files directly (info, models) still meet the framework's own exceptions.
    private static bool IsUserFacing(Exception e) => e is ArgumentException or InvalidDataException or FileNotFoundException
        or DirectoryNotFoundException or Preprocessors.PreprocessorException or Plugins.PluginException or Checkpoints.CheckpointException;
}
