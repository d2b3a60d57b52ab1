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

/// <summary>What a residual branch is given for one UNet call: the step's whole conditioning, so that a branch works
/// for any model family.</summary>
/// <param name="Sample">The UNet's input latents for this call, [B,C,h,w] (B = 2 with guidance: uncond, cond).</param>
/// <param name="Timestep">The model timestep of this step.</param>
/// <param name="TextEmbeddings">The text embeddings of the same batch, [B,77,D] (D: 768 SD 1.x, 1024 SD 2.x, 2048 SDXL).</param>
/// <param name="StepIndex">0-based step.</param>
/// <param name="StepCount">Steps in this generation.</param>
public sealed record ResidualRequest(FloatTensor Sample, float Timestep, FloatTensor TextEmbeddings, int StepIndex, int StepCount)
{
    private static readonly IReadOnlyDictionary<string, FloatTensor> NoInputs = new Dictionary<string, FloatTensor>();

    /// <summary>The model's family: "sd1", "sd2" or "sdxl" (contract 1.3).</summary>
    public string Family { get; init; } = "sd1";

    /// <summary>The pooled text embeddings of the same batch, [B,P], where the family has them (SDXL's text_embeds); null
    /// for SD 1.x and 2.x (contract 1.3).</summary>
    public FloatTensor? PooledEmbeddings { get; init; }

    /// <summary>Further inputs the family's UNet and ControlNets take, by their input names, for the same batch (SDXL:
    /// "text_embeds" [B,1280] and "time_ids" [B,6]: original size, crop top-left, target size); empty for SD 1.x and 2.x
    /// (contract 1.3).</summary>
    public IReadOnlyDictionary<string, FloatTensor> ExtraInputs { get; init; } = NoInputs;
}

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
