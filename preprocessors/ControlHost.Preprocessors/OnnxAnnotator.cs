using ControlHost.Abstractions;

namespace ControlHost.Preprocessors;

/// <summary>
/// A user's ONNX export of an estimator (one image input, one map output) as a preprocessor module: the map's
/// channels (one: grey) each min-max normalised to 0-255 at the input's size. The extension's neural modules that
/// ControlHost does not ship (lineart_realistic, normal_bae, ...) run this way from an annotators/ folder.
/// </summary>
public static class OnnxAnnotator
{
    /// <summary>The module named <paramref name="name"/> that runs <paramref name="file"/>.</summary>
    public static IPreprocessor Module(string name, IReadOnlyList<string> aliases, string description, string file) =>
        PreprocessorModule.Image(name, aliases, description, [], (input, _) => Run(file, input));

    public static RgbImage Run(string file, RgbImage input)
    {
        var model = OnnxImageModel.Load(file);
        var (data, shape) = model.Run(input);
        if (shape.Length != 4 || shape[0] != 1 || shape[1] is not (1 or 3))
            throw new ArgumentException($"{Path.GetFileName(file)}: output [{string.Join(",", shape)}]; a map [1,1,H,W] or [1,3,H,W] expected");
        int h = shape[2], w = shape[3], plane = h * w;
        var pixels = new byte[3 * input.Width * input.Height];
        for (var c = 0; c < 3; c++)
        {
            var channel = shape[1] == 1 ? 0 : c;
            using var bytes = OnnxImageModel.NormaliseToBytes(data[(channel * plane)..((channel + 1) * plane)], h, w, input.Width, input.Height);
            var row = new byte[input.Width * input.Height];
            System.Runtime.InteropServices.Marshal.Copy(bytes.Data, row, 0, row.Length);
            for (var i = 0; i < row.Length; i++) pixels[3 * i + c] = row[i];
        }
        return new RgbImage(input.Width, input.Height, pixels);
    }
}
