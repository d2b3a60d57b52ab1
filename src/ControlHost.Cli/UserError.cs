namespace ControlHost.Cli;

/// <summary>A problem with the user's input: printed as one line, exit code 2.</summary>
public sealed class UserError(string message, Exception? inner = null) : Exception(message, inner);

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int BadInput = 2;
}
