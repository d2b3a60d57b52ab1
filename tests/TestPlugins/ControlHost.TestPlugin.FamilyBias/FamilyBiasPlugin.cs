using System.Globalization;
using ControlHost.Abstractions;

namespace ControlHost.TestPlugin.FamilyBias;

/// <summary>Registers family_bias: a residual branch of its own (no network) written against contract 1.3.</summary>
public sealed class FamilyBiasPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new FamilyBiasCondition());
}

/// <summary>
/// Adds a bias to every UNet skip, scaled per family (its option "families" lists the ones it is tuned for, with a
/// strength each: "sd1=0.2,sd2=0.1"). The residual request says which family the model is and carries the step's whole
/// conditioning; a family the unit has no strength for is an error naming both.
/// </summary>
public sealed class FamilyBiasCondition : IBranchConditionType
{
    public string Id => "family_bias";
    public IReadOnlyList<string> Aliases => [];
    public string Description => "a constant bias on the UNet's skips, scaled per model family (contract 1.3)";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => [new("families", OptionKind.Text, "sd1=0.2,sd2=0.1", null, null, "family=strength, comma separated")];
    public string ModelCondition => "family_bias";

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) => ConditionHint.FromImage(input);

    public IControlBranch CreateBranch(BranchContext context)
    {
        var strengths = new Dictionary<string, float>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in context.Options.Get("families").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2 || !float.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var s))
                throw new ArgumentException($"families: '{part}' is not family=strength");
            strengths[kv[0]] = s;
        }
        return new FamilyBiasBranch(context.Name, strengths);
    }
}

public sealed class FamilyBiasBranch(string name, IReadOnlyDictionary<string, float> strengths) : IResidualBranch
{
    public string Name { get; } = name;

    public void Compute(ResidualRequest request, IReadOnlyList<FloatTensor> outputs)
    {
        if (!strengths.TryGetValue(request.Family, out var strength))
            throw new ArgumentException($"the model is {request.Family}; this unit has strengths for {string.Join(", ", strengths.Keys)} only");
        var batch = request.Sample.Shape[0];
        if (request.TextEmbeddings.Shape[0] != batch || (request.PooledEmbeddings is { } p && p.Shape[0] != batch))
            throw new ArgumentException("the conditioning's batch does not match the sample's");
        // Where the family has a pooled embedding (SDXL), its size scales the bias too; SD 1.x and 2.x have none.
        var scale = request.PooledEmbeddings is { } pooled ? strength / MathF.Sqrt(pooled.Shape[1]) : strength;
        foreach (var output in outputs) Array.Fill(output.Data, scale);
    }

    public void Dispose()
    {
    }
}
