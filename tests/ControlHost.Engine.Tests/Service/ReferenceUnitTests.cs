using ControlHost.Abstractions;
using ControlHost.Application.Units;
using ControlHost.Engine.Conditioning;
using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Tests.Service;

/// <summary>A reference unit (an image of the object) reaches the reference adapter whole.</summary>
public class ReferenceUnitTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    private static float[] Tokens(ControlUnit unit) => ((IContextBranch)unit.Branch).ComputeContextTokens().Data;

    [Fact]
    public void A_wide_picture_is_not_cropped_to_the_canvas_before_the_object_is_cut_out()
    {
        // A 59x41 picture of an oval (wider than the 128x128 canvas' aspect), and the same picture padded with its
        // white border to a square: the cut-out, and so the adapter's tokens, must be the same. Fitted to the canvas
        // first (crop and resize, as a spatial hint is), the wide one would lose the oval's ends.
        var wide = ImageIo.Load(Path.Combine(RepoPaths.Fixtures, "evalset-reference", "ref1.object.png"));
        var side = Math.Max(wide.Width, wide.Height);
        var square = new byte[side * side * 3];
        Array.Fill(square, (byte)245);
        int ox = (side - wide.Width) / 2, oy = (side - wide.Height) / 2;
        for (var y = 0; y < wide.Height; y++) Array.Copy(wide.Pixels, y * wide.Width * 3, square, ((oy + y) * side + ox) * 3, wide.Width * 3);
        var a = Tokens(f.Units(new UnitSpec { Condition = "reference", Image = wide })[0]);
        var b = Tokens(f.Units(new UnitSpec { Condition = "reference", Image = new RgbImage(side, side, square) })[0]);
        var worst = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Assert.True(worst < 1e-4, $"tokens differ by up to {worst}");
    }
}
