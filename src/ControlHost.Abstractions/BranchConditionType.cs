namespace ControlHost.Abstractions;

/// <summary>What the host gives a condition type that makes its own branch, once per unit per generation.</summary>
/// <param name="Name">The unit's name for errors and timings, e.g. "unit 2 (pin_colour)".</param>
/// <param name="Hint">The unit's preprocessed hint, fitted to the generation size.</param>
/// <param name="Options">The unit's validated options.</param>
/// <param name="Width">The generation's width in pixels (the latent is Width / 8 wide).</param>
/// <param name="Height">The generation's height in pixels.</param>
/// <param name="EncodeImage">The model's VAE: an image of the generation size to its scaled latent [1,4,H/8,W/8].</param>
/// <param name="Seed">The generation's seed, for a branch that needs noise of its own and must stay reproducible.</param>
public sealed record BranchContext(string Name, ConditionHint Hint, OptionValues Options, int Width, int Height,
    Func<RgbImage, FloatTensor> EncodeImage, uint Seed);

/// <summary>
/// A condition type that brings its own kind of branch instead of the host's ControlNet or adapter: residuals from a
/// network of its own (<see cref="IResidualBranch"/>), context tokens (<see cref="IContextBranch"/>) or a latent
/// constraint (<see cref="ILatentBranch"/>). The engine still owns the weight, the start/end window and the mask.
/// Added in contract 1.1.
/// </summary>
public interface IBranchConditionType : IConditionType
{
    /// <summary>Makes the unit's branch. The host disposes it when the generation ends.</summary>
    IControlBranch CreateBranch(BranchContext context);
}
