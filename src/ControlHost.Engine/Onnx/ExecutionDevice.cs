using Microsoft.ML.OnnxRuntime;

namespace ControlHost.Engine.Onnx;

/// <summary>Where models run.</summary>
public enum DeviceChoice { Auto, Cpu, Cuda }

/// <summary>
/// Builds ONNX Runtime session options for a device. CUDA is probed by appending its provider: on a machine without
/// a GPU (or with the CPU-only runtime) that throws, and Auto falls back to CPU with a notice.
/// GetAvailableProviders() lists CUDA even without a GPU, so it is no probe.
/// </summary>
public sealed class ExecutionDevice
{
    private ExecutionDevice(DeviceChoice resolved, string? notice, int threads)
    {
        Resolved = resolved;
        Notice = notice;
        Threads = threads;
    }

    /// <summary>Cpu or Cuda: what sessions actually use.</summary>
    public DeviceChoice Resolved { get; }

    /// <summary>One line for users when Auto fell back to CPU; null otherwise.</summary>
    public string? Notice { get; }

    /// <summary>Intra-op threads on CPU (0: ONNX Runtime's default).</summary>
    public int Threads { get; }

    /// <summary>
    /// CONTROLHOST_LOW_MEMORY=1: sessions free their activations after each run (no CPU memory arena) and keep no
    /// pre-packed copies of weights, for models whose float32 weights nearly fill the machine (SDXL with a ControlNet on
    /// 24 GB). Steps are slower; bench/RESULTS.md has the figures.
    /// </summary>
    public static bool LowMemory => Environment.GetEnvironmentVariable("CONTROLHOST_LOW_MEMORY") is "1" or "true";

    /// <exception cref="InvalidOperationException">CUDA was asked for explicitly and is not usable.</exception>
    public static ExecutionDevice Resolve(DeviceChoice choice, int threads = 0)
    {
        if (choice == DeviceChoice.Cpu) return new ExecutionDevice(DeviceChoice.Cpu, null, threads);
        var failure = TryCuda();
        if (failure is null) return new ExecutionDevice(DeviceChoice.Cuda, null, threads);
        if (choice == DeviceChoice.Cuda)
            throw new InvalidOperationException($"device cuda: the CUDA provider is not usable here ({failure}); choose the cpu or auto device");
        return new ExecutionDevice(DeviceChoice.Cpu, $"CUDA not available ({failure}); running on CPU", threads);
    }

    private static string? TryCuda()
    {
        // ONNX Runtime logs its own error line when the CUDA provider cannot load; the notice below says it once.
        var env = OrtEnv.Instance();
        env.DisableTelemetryEvents(); // the environment variable stops the provider; this stops events on every platform
        var level = env.EnvLogLevel;
        env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(0);
            return null;
        }
        catch (OnnxRuntimeException e) { return FirstLine(e.Message); }
        catch (EntryPointNotFoundException e) { return FirstLine(e.Message); }
        catch (DllNotFoundException e) { return FirstLine(e.Message); }
        finally
        {
            env.EnvLogLevel = level;
        }
    }

    private static string FirstLine(string s)
    {
        var line = s.Split('\n')[0].Trim();
        return line.Length > 160 ? line[..160] + "..." : line;
    }

    /// <summary>Fresh options for one session on this device.</summary>
    /// <param name="replacedWeights">
    /// The session replaces some of the file's initializers (LoRA-merged weights, embedding rows). ONNX Runtime's
    /// constant folding and extended fusions read the file's values before replacements apply and bake them in
    /// (measured: the LoRA and embedding parity tests fail at 0.26 and 0.70 relative error with them), so such a
    /// session keeps to the basic level without constant folding: weights stay separate tensors.
    /// </param>
    /// <param name="liveWeights">
    /// The replacements are rewritten in place between runs (LoRA switching): pre-packing, which copies constant weights
    /// into kernel layouts at session creation, is turned off so every run reads the buffers (measured: with pre-packing
    /// a weight rewritten after creation leaves the output 0.19 off in relative terms).
    /// </param>
    public SessionOptions CreateOptions(bool replacedWeights = false, bool liveWeights = false)
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = replacedWeights ? GraphOptimizationLevel.ORT_ENABLE_BASIC : GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        if (replacedWeights) options.AddSessionConfigEntry("optimization.disable_specified_optimizers", "ConstantFolding");
        if (liveWeights || LowMemory) options.AddSessionConfigEntry("session.disable_prepacking", "1");
        if (LowMemory) options.EnableCpuMemArena = false;
        if (Threads > 0) options.IntraOpNumThreads = Threads;
        // Each session has its own intra-op pool, and by default its threads spin after a run waiting for the next.
        // A step runs the UNet and every unit's ControlNet in turn, so spinning pools of the sessions not running
        // steal the cores from the one that is: measured on 2 cores, the third ControlNet unit cost 1.9x its own run
        // with spinning and (see bench/) about its own run without.
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        if (Resolved == DeviceChoice.Cuda) options.AppendExecutionProvider_CUDA(0);
        return options;
    }
}
