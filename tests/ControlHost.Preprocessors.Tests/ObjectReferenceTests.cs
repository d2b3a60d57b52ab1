using System.Text.Json;
using ControlHost.Engine.Imaging;

namespace ControlHost.Preprocessors.Tests;

public class ObjectReferenceTests
{
    [Fact]
    public void The_cut_out_equals_the_planes_the_adapter_was_trained_on()
    {
        // tools/forge/reference_fixtures.py: Python's border-colour cut-out and planes of one evaluation object.
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Draw.Root, "tests", "fixtures", "reference", "planes.json")));
        var picture = ImageIo.Load(Path.Combine(Draw.Root, "tests", "fixtures", doc.RootElement.GetProperty("picture").GetString()!));
        var expected = new float[ObjectReference.Planes * ObjectReference.Size * ObjectReference.Size];
        Buffer.BlockCopy(Convert.FromBase64String(doc.RootElement.GetProperty("planes").GetString()!), 0, expected, 0, expected.Length * 4);
        var options = new Dictionary<string, string> { ["threshold"] = doc.RootElement.GetProperty("threshold").GetInt32().ToString() };
        var actual = PreprocessorRegistry.Run("reference", picture, options).Vector!;
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-5, $"largest difference {worst}");
    }

    [Fact]
    public void A_wide_object_is_padded_to_a_square_about_its_centre_with_its_colour_kept()
    {
        // A 32x8 red bar on white: the square is 32 wide, the bar its middle 8 rows (12..19).
        var picture = Draw.Rectangle(60, 40, 10, 16, 41, 23, (200, 20, 40), (250, 250, 250));
        var planes = PreprocessorRegistry.Run("object_reference", picture).Vector!;
        const int n = ObjectReference.Size * ObjectReference.Size;
        float Mask(int x, int y) => planes[3 * n + y * ObjectReference.Size + x];
        Assert.Equal(1f, Mask(0, 12));
        Assert.Equal(1f, Mask(31, 19));
        Assert.Equal(0f, Mask(16, 11));
        Assert.Equal(0f, Mask(16, 20));
        Assert.Equal(200 / 255f, planes[12 * ObjectReference.Size + 5], 5);
        Assert.Equal(20 / 255f, planes[n + 12 * ObjectReference.Size + 5], 5);
        Assert.Equal(0f, planes[2 * n + 2 * ObjectReference.Size + 5]); // outside the object: no colour
    }

    [Fact]
    public void The_border_colour_is_the_median_of_the_outer_ring_so_an_object_touching_it_does_not_move_it()
    {
        var picture = Draw.Rectangle(20, 20, 0, 0, 6, 19, (0, 0, 255), (10, 200, 30));
        Assert.Equal([10, 200, 30], ObjectReference.BorderColour(picture));
    }

    [Fact]
    public void A_picture_where_nothing_stands_out_is_taken_whole_and_the_note_says_so()
    {
        var result = PreprocessorRegistry.Run("reference", Draw.Flat(16, 16, 90, 30, 200));
        Assert.Contains("whole picture", result.Note);
        const int n = ObjectReference.Size * ObjectReference.Size;
        Assert.All(result.Vector![(3 * n)..], m => Assert.Equal(1f, m));
        Assert.Equal(30 / 255f, result.Vector[n + 100], 5);
        Assert.Null(PreprocessorRegistry.Run("reference", Draw.Rectangle(16, 16, 4, 4, 9, 9, (0, 0, 0), (250, 250, 250))).Note);
    }
}
