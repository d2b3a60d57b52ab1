using ControlHost.Engine.Imaging;
using ControlHost.Preprocessors;

namespace ControlHost.Engine.Tests;

public class OpenPoseTests
{
    private static string Example(string name) => Path.Combine(RepoPaths.Root, "examples", name);

    [Fact]
    public void Rendering_the_json_matches_the_training_render()
    {
        var pose = OpenPose.Parse(File.ReadAllText(Example("pose.json")));
        var mine = OpenPose.Render(pose, 128, 128);
        var theirs = ImageIo.Load(Example("pose-hint.png"));
        var same = 0;
        for (var i = 0; i < mine.Pixels.Length; i += 3)
            if (mine.Pixels[i] == theirs.Pixels[i] && mine.Pixels[i + 1] == theirs.Pixels[i + 1] && mine.Pixels[i + 2] == theirs.Pixels[i + 2]) same++;
        Assert.True(same >= 0.99 * 128 * 128, $"{same} of {128 * 128} pixels agree");
    }

    [Fact]
    public void Joints_are_drawn_in_their_documented_colours_at_the_json_coordinates()
    {
        var pose = OpenPose.Parse(File.ReadAllText(Example("pose.json")));
        var image = OpenPose.Render(pose, 128, 128);
        // Joints 0 (nose, red), 4 (right wrist, yellow) and 10 (right ankle, cyan-green) are drawn over the limbs.
        foreach (var joint in new[] { 4, 7, 10, 13 })
        {
            var (x, y, _) = pose.People[0].Body[joint];
            var i = ((int)y * 128 + (int)x) * 3;
            Assert.Equal(OpenPose.Colours[joint], (image.Pixels[i], image.Pixels[i + 1], image.Pixels[i + 2]));
        }
    }

    [Fact]
    public void Json_round_trips_and_scales_to_another_canvas()
    {
        var pose = OpenPose.Parse(File.ReadAllText(Example("pose.json")));
        var again = OpenPose.Parse(OpenPose.ToJson(pose));
        Assert.Equal(pose.People[0].Body, again.People[0].Body);
        var big = OpenPose.Render(pose, 256, 256);
        var (x, y, _) = pose.People[0].Body[4];
        var i = ((int)(y * 2) * 256 + (int)(x * 2)) * 3;
        Assert.Equal(OpenPose.Colours[4], (big.Pixels[i], big.Pixels[i + 1], big.Pixels[i + 2]));
    }

    [Theory]
    [InlineData("{}", "no \"people\"")]
    [InlineData("not json", "not OpenPose JSON")]
    [InlineData("{\"people\":[{\"pose_keypoints_2d\":[1,2,1]}]}", "1 body keypoints")]
    public void Bad_json_is_refused_with_the_reason(string json, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => OpenPose.Parse(json, "pose.json"));
        Assert.Contains(expected, e.Message);
    }
}
