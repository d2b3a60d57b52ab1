using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ControlHost.Engine.Onnx;

/// <summary>
/// ONNX Runtime's telemetry off for every process that loads the engine. ORT 1.31 starts its telemetry provider when
/// its environment is created (before DisableTelemetryEvents can be called): it writes a device id and a database under
/// ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and sends events. Its native code reads ORT_DISABLE_TELEMETRY from the
/// process environment, which .NET's Environment.SetEnvironmentVariable does not change on Unix, so it is set through
/// libc before any ONNX Runtime type is touched (measured: no files with it, both files without).
/// </summary>
public static class OrtTelemetry
{
    public const string Variable = "ORT_DISABLE_TELEMETRY";

    // A module initializer in a library on purpose: it must run in every process that loads the engine (CLI, server,
    // bench, tests) before ONNX Runtime's environment exists, whichever entry point came first.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void TurnOff()
    {
        if (OperatingSystem.IsWindows()) Environment.SetEnvironmentVariable(Variable, "1");
        else _ = setenv(Variable, "1", 1);
    }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int setenv(string name, string value, int overwrite);
}
