using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Onnx;
using ControlHost.Engine.Pipeline;
using ControlHost.Preprocessors;

namespace ControlHost.Application.Errors;

/// <summary>
/// Turns what the engine, the preprocessors and the plugin host throw into typed service errors, in one place.
/// A failure inside ONNX Runtime while a loaded model runs is never the caller's fault.
/// </summary>
internal static class Failures
{
    public static ServiceException Classify(Exception e, string? field = null) => e switch
    {
        ServiceException s => s,
        ModelRunException => new InternalFaultException(e.Message, e),
        DirectoryNotFoundException or FileNotFoundException or BranchException or ModelLoadException or PreprocessorException or Plugins.PluginException
            or ArgumentException or InvalidDataException or NotSupportedException or Checkpoints.CheckpointException => new BadInputException(field, e.Message, e),
        _ => new InternalFaultException(e.Message, e),
    };

    /// <summary>Runs <paramref name="body"/>, rethrowing its failures typed; cancellation passes through.</summary>
    public static T Guard<T>(string? field, Func<T> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw Classify(e, field);
        }
    }
}
