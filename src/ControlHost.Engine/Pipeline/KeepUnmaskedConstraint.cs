using ControlHost.Abstractions;

namespace ControlHost.Engine.Pipeline;

/// <summary>
/// Inpainting with a plain UNet, as a latent constraint (the contract's <see cref="ILatentBranch"/>): after each
/// step, latent cells outside the mask are put back on the init image's path, noised to the level the latent is at
/// now, so only the masked cells are generated (A1111's "denoised * mask + init_latent * (1 - mask)").
/// </summary>
internal sealed class KeepUnmaskedConstraint(float[] latentMask, float[] cleanInit, float[] noise) : ILatentBranch
{
    private readonly float[] _noisedInit = new float[cleanInit.Length];

    public string Name => "inpainting mask";

    public void Constrain(LatentRequest request)
    {
        request.AddNoise(cleanInit, noise, _noisedInit);
        var latent = request.Latent.Data;
        var plane = latentMask.Length;
        for (var i = 0; i < latent.Length; i++)
        {
            var m = latentMask[i % plane];
            latent[i] = m * latent[i] + (1 - m) * _noisedInit[i];
        }
    }

    public void Dispose()
    {
    }
}
