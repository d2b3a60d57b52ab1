using Microsoft.ML.OnnxRuntime;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// Every UNet and ControlNet (the embedded family's and one built from a checkpoint) names each residual's spatial size
/// apart from the sample's: ONNX Runtime plans buffers from symbolic names, and residuals are 1/2, 1/4, ... of the latent.
/// </summary>
public sealed class SymbolicDimensionTests(ImportedFolderFixture f) : IClassFixture<ImportedFolderFixture>
{
    public static TheoryData<string> Models()
    {
        var data = new TheoryData<string>();
        var models = Path.Combine(Fixtures.Repo, "models");
        foreach (var dir in Directory.GetDirectories(models).Order(StringComparer.Ordinal))
        {
            if (File.Exists(Path.Combine(dir, "unet", "model.onnx"))) data.Add(Path.GetRelativePath(Fixtures.Repo, Path.Combine(dir, "unet", "model.onnx")));
            if (File.Exists(Path.Combine(dir, "controlnet.json"))) data.Add(Path.GetRelativePath(Fixtures.Repo, Path.Combine(dir, "model.onnx")));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Residuals_of_the_embedded_family_have_their_own_symbolic_sizes(string relative) =>
        AssertOwnSizes(Path.Combine(Fixtures.Repo, relative));

    [Fact]
    public void Residuals_of_a_built_UNet_and_ControlNet_have_their_own_symbolic_sizes()
    {
        AssertOwnSizes(Path.Combine(f.Model.Folder, "unet", "model.onnx"));
        AssertOwnSizes(Path.Combine(f.ControlNet.Folder, "model.onnx"));
    }

    private static void AssertOwnSizes(string path)
    {
        using var session = new InferenceSession(path);
        var sample = session.InputMetadata["sample"].SymbolicDimensions;
        var residuals = session.InputMetadata.Concat(session.OutputMetadata).Where(kv => kv.Key.EndsWith("_additional_residual", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(residuals);
        foreach (var (name, meta) in residuals)
        {
            var dims = meta.SymbolicDimensions;
            Assert.True(dims[2].Length > 0 && dims[2] != sample[2] && dims[3] != sample[3],
                $"{Path.GetFileName(Path.GetDirectoryName(path))}: {name} is named [{string.Join(",", dims)}] like the sample [{string.Join(",", sample)}]");
        }
        if (session.InputMetadata.TryGetValue("controlnet_cond", out var hint))
            Assert.NotEqual(sample[2], hint.SymbolicDimensions[2]);
    }
}
