namespace ControlHost.Preprocessors.Tests;

/// <summary>Preprocessors that run a user-supplied ONNX model (tiny stand-ins from tools/forge/preprocessor_fixtures.py).</summary>
public class ModelPreprocessorTests
{
    [Fact]
    public void Depth_from_a_model_is_normalised_near_bright_at_the_input_size()
    {
        // the stand-in's "inverse depth" is the mean brightness: the white box is nearest
        var image = Draw.Rectangle(100, 80, 20, 20, 59, 59, (255, 255, 255), (40, 40, 40));
        var depth = Depth.Estimate(image, Draw.ModelFixture("depth.onnx"));
        Assert.Equal((100, 80), (depth.Width, depth.Height));
        Assert.True(Draw.At(depth, 40, 40).R > 240);
        Assert.True(Draw.At(depth, 90, 70).R < 15);
        Assert.True(Draw.At(Depth.Estimate(image, Draw.ModelFixture("depth.onnx"), farIsBright: true), 40, 40).R < 15);
    }

    [Fact]
    public void Segmentation_from_a_model_paints_the_ade20k_palette()
    {
        // red -> class 0 (wall), green -> class 1 (building), blue -> class 2 (sky)
        var image = Draw.Rectangle(64, 64, 0, 0, 31, 63, (255, 0, 0), (0, 255, 0));
        var seg = Segmentation.WithModel(image, Draw.ModelFixture("seg.onnx"));
        Assert.Equal((Ade20k.Classes[0].R, Ade20k.Classes[0].G, Ade20k.Classes[0].B), Draw.At(seg, 10, 30));
        Assert.Equal((Ade20k.Classes[1].R, Ade20k.Classes[1].G, Ade20k.Classes[1].B), Draw.At(seg, 50, 30));
        Assert.Equal(150, Ade20k.Classes.Count);
        Assert.Equal(("person", (byte)150, (byte)5, (byte)61), Ade20k.Classes[12]);
    }

    [Fact]
    public void Segmentation_without_a_model_says_it_is_a_fallback_and_finds_the_regions()
    {
        var image = Draw.Rectangle(60, 40, 0, 0, 39, 39, (200, 30, 30), (30, 30, 200));
        var result = PreprocessorRegistry.Run("seg_ofade20k", image, new Dictionary<string, string> { ["clusters"] = "2" });
        Assert.Contains("fallback", result.Note);
        // the larger region (left, 40 columns) takes palette entry 0, the other entry 1
        Assert.Equal((Ade20k.Classes[0].R, Ade20k.Classes[0].G, Ade20k.Classes[0].B), Draw.At(result.Image, 5, 5));
        Assert.Equal((Ade20k.Classes[1].R, Ade20k.Classes[1].G, Ade20k.Classes[1].B), Draw.At(result.Image, 55, 5));
        Assert.Equal(result.Image.Pixels, PreprocessorRegistry.Run("seg", image, new Dictionary<string, string> { ["clusters"] = "2" }).Image.Pixels);
    }

    [Fact]
    public void Without_a_model_the_message_says_what_to_supply()
    {
        var e = Assert.Throws<PreprocessorException>(() => PreprocessorRegistry.Run("openpose", Draw.Flat(16, 16, 1, 2, 3)));
        Assert.Contains("estimator=PATH.onnx", e.Message);
    }

    [Fact]
    public void Depth_without_a_model_takes_the_image_as_a_depth_map_and_says_so()
    {
        // The same fallback the depth condition has in a unit: one module, one meaning.
        var map = Draw.Flat(16, 16, 40, 40, 40);
        map.Pixels[0] = map.Pixels[1] = map.Pixels[2] = 200;
        var result = PreprocessorRegistry.Run("depth_midas", map);
        Assert.Contains("estimator=PATH.onnx", result.Note);
        Assert.Equal(255, result.Image.Pixels[0]);
        Assert.Equal(0, result.Image.Pixels[3]);
    }

    [Theory]
    [InlineData("not-a-model.onnx", "not an ONNX model")]
    [InlineData("missing.onnx", "does not exist")]
    public void A_missing_or_wrong_model_is_named(string file, string expected)
    {
        var e = Assert.Throws<PreprocessorException>(() => PreprocessorRegistry.Run("depth_midas", Draw.Flat(16, 16, 1, 2, 3),
            new Dictionary<string, string> { ["estimator"] = Draw.ModelFixture(file) }));
        Assert.Contains(expected, e.Message);
        Assert.Contains("depth", e.Message);
    }

    [Fact]
    public void A_model_with_the_wrong_output_is_refused()
    {
        // the depth stand-in gives one channel, not 57
        var e = Assert.Throws<PreprocessorException>(() => PreprocessorRegistry.Run("openpose", Draw.Flat(16, 16, 1, 2, 3),
            new Dictionary<string, string> { ["estimator"] = Draw.ModelFixture("depth.onnx") }));
        Assert.Contains("57 channels", e.Message);
    }

    [Fact]
    public void Pose_decoding_recovers_a_skeleton_encoded_as_heatmaps_and_fields()
    {
        // A person at known map coordinates, encoded the way an OpenPose body model would output it.
        const int w = 46, h = 46;
        var keypoints = new (double X, double Y)[]
        {
            (23, 8), (23, 13), (18, 13), (15, 20), (13, 27), (28, 13), (31, 20), (33, 27), (20, 26), (19, 34), (19, 42),
            (26, 26), (27, 34), (27, 42), (22, 7), (24, 7), (21, 8), (25, 8),
        };
        var output = new float[57 * w * h];
        var plane = w * h;
        for (var k = 0; k < 18; k++)
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    var d2 = Math.Pow(x - keypoints[k].X, 2) + Math.Pow(y - keypoints[k].Y, 2);
                    output[k * plane + y * w + x] = (float)Math.Exp(-d2 / 2);
                }
        for (var c = 0; c < PoseDecoder.Connections.Length; c++)
        {
            var (a, b) = PoseDecoder.Connections[c];
            var (fx, fy) = PoseDecoder.FieldChannels[c];
            double dx = keypoints[b].X - keypoints[a].X, dy = keypoints[b].Y - keypoints[a].Y;
            var length = Math.Sqrt(dx * dx + dy * dy);
            for (var y = 0; y < h; y++)
                for (var x = 0; x < w; x++)
                {
                    // on the segment (within 1 cell): the unit vector from a to b
                    double px = x - keypoints[a].X, py = y - keypoints[a].Y;
                    var along = (px * dx + py * dy) / length;
                    var across = Math.Abs(px * dy - py * dx) / length;
                    if (along < -0.5 || along > length + 0.5 || across > 1) continue;
                    output[fx * plane + y * w + x] = (float)(dx / length);
                    output[fy * plane + y * w + x] = (float)(dy / length);
                }
        }
        var pose = PoseDecoder.Decode(output, h, w, 368, 368);
        var person = Assert.Single(pose.People);
        for (var k = 0; k < 18; k++)
        {
            var (x, y, confidence) = person.Body[k];
            Assert.True(confidence > 0.5, $"keypoint {k} missing");
            Assert.InRange(x, (keypoints[k].X) * 8, (keypoints[k].X + 1) * 8);
            Assert.InRange(y, (keypoints[k].Y) * 8, (keypoints[k].Y + 1) * 8);
        }
    }
}
