using ControlHost.Engine.Components;
using ControlHost.Engine.Onnx;

namespace ControlHost.Application.UserModels;

/// <summary>
/// Whether an SD 2.x UNet predicts velocity (the 768-v models) or noise (the 512 base models), when no .yaml beside the
/// checkpoint says: A1111's test (modules/sd_models_config.py, is_using_v_parameterization_for_sd2) runs the UNet once at
/// timestep 999 on a flat latent of 0.5 with a context of 0.5 (two tokens); a velocity model's output minus its input
/// averages below -1, a noise model's stays near 0.
/// </summary>
public static class VelocityProbe
{
    public static bool PredictsVelocity(string unetPath)
    {
        using var unet = new UNetModel(OnnxModel.Load(unetPath, ExecutionDevice.Resolve(DeviceChoice.Cpu)), null);
        const int h = 8, w = 8, tokens = 2;
        var dim = unet.ContextDim > 0 ? unet.ContextDim : 1024;
        var sample = new float[unet.InChannels * h * w];
        Array.Fill(sample, 0.5f);
        var context = new float[tokens * dim];
        Array.Fill(context, 0.5f);
        var output = new float[4 * h * w];
        unet.Run(sample, 1, h, w, 999, context, tokens, dim, null, output);
        var mean = 0.0;
        for (var i = 0; i < output.Length; i++) mean += output[i] - sample[i];
        return mean / output.Length < -1;
    }
}
