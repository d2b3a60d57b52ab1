namespace ControlHost.Abstractions;

/// <summary>
/// A branch contributes to denoising steps. The engine owns scaling, summation, masks and the start/end window;
/// a branch only computes. Implement one or more of the contribution interfaces below.
/// </summary>
public interface IControlBranch : IDisposable
{
    /// <summary>A name for errors and timings, e.g. "unit 1 (canny)".</summary>
    string Name { get; }
}

/// <summary>What a residual branch is given for one UNet call.</summary>
/// <param name="Sample">The UNet's input latents for this call, [B,4,h,w] (B = 2 with guidance: uncond, cond).</param>
/// <param name="Timestep">The model timestep of this step.</param>
/// <param name="TextEmbeddings">The text embeddings of the same batch, [B,77,D].</param>
/// <param name="StepIndex">0-based step.</param>
/// <param name="StepCount">Steps in this generation.</param>
public sealed record ResidualRequest(FloatTensor Sample, float Timestep, FloatTensor TextEmbeddings, int StepIndex, int StepCount);

/// <summary>Spatial residuals (ControlNet): one tensor per UNet skip connection, then the middle block.</summary>
public interface IResidualBranch : IControlBranch
{
    /// <summary>
    /// Computes the residuals into <paramref name="outputs"/>: buffers the engine allocated once with the shapes of the
    /// UNet's residual inputs for this batch, in the UNet's input order (down 0..N-1, then mid). Overwrite them.
    /// </summary>
    void Compute(ResidualRequest request, IReadOnlyList<FloatTensor> outputs);
}

/// <summary>Context tokens (Composer-style global conditions), appended to the conditional text embeddings.</summary>
public interface IContextBranch : IControlBranch
{
    /// <summary>The tokens, [T,D]; computed once a generation. The engine scales them by the unit's weight.</summary>
    FloatTensor ComputeContextTokens();
}

/// <summary>What a latent branch is given after each scheduler step.</summary>
/// <param name="Latent">The batch-1 latent after the step, [1,C,h,w]: the branch may change it in place.</param>
/// <param name="StepIndex">0-based step just taken.</param>
/// <param name="StepCount">Steps in this generation.</param>
/// <param name="AddNoise">Noises a clean latent to the level <paramref name="Latent"/> is at now: (clean, noise, destination).</param>
public sealed record LatentRequest(FloatTensor Latent, int StepIndex, int StepCount, Action<float[], float[], float[]> AddNoise);

/// <summary>Latent constraints (masks, box placement): applied to the latent after each scheduler step.</summary>
public interface ILatentBranch : IControlBranch
{
    /// <summary>Constrains the latent in place.</summary>
    void Constrain(LatentRequest request);
}
