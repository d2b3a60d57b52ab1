using System.Text.Json;
using ControlHost.Engine.Onnx;
using Microsoft.ML.OnnxRuntime;

namespace ControlHost.Engine.Tests;

/// <summary>
/// Each exported ONNX file, run by ONNX Runtime from C#, reproduces the outputs PyTorch computed for the same
/// fixed inputs when the forge exported it (tests/fixtures/parity/*.json).
/// </summary>
public class ParityTests
{
    public static TheoryData<string> Fixtures()
    {
        var data = new TheoryData<string>();
        var dir = Path.Combine(RepoPaths.Fixtures, "parity");
        foreach (var f in Directory.GetFiles(dir, "*.json").Order()) data.Add(Path.GetFileName(f));
        return data;
    }

    [Fact]
    public void Every_model_in_the_embedded_family_has_a_fixture()
    {
        var names = Directory.GetFiles(Path.Combine(RepoPaths.Fixtures, "parity"), "*.json").Select(Path.GetFileNameWithoutExtension).ToHashSet();
        foreach (var part in new[] { "text_encoder", "unet", "vae_encoder", "vae_decoder" })
            Assert.Contains($"tiny-sd__{part}", names);
        Assert.Contains("tiny-sd-inpainting__unet", names);
        foreach (var folder in Directory.GetDirectories(RepoPaths.Models, "controlnet-*").Concat(Directory.GetDirectories(RepoPaths.Models, "adapter-*")))
            Assert.Contains(Path.GetFileName(folder), names);
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Onnx_outputs_match_pytorch(string fixtureFile)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Fixtures, "parity", fixtureFile)));
        var root = doc.RootElement;
        var modelPath = Path.Combine(RepoPaths.Models, root.GetProperty("model").GetString()!, "model.onnx");
        using var model = OnnxModel.Load(modelPath, ExecutionDevice.Resolve(DeviceChoice.Cpu, threads: 2));
        var names = new List<string>();
        var values = new List<OrtValue>();
        foreach (var input in root.GetProperty("inputs").EnumerateObject())
        {
            names.Add(input.Name);
            values.Add(ToOrtValue(input.Value));
        }
        var outputNames = root.GetProperty("outputs").EnumerateObject().Select(o => o.Name).ToArray();
        using var outputs = model.Run(names, values, outputNames);
        foreach (var v in values) v.Dispose();
        var i = 0;
        foreach (var expected in root.GetProperty("outputs").EnumerateObject())
        {
            var (want, shape) = Floats(expected.Value);
            var got = outputs.ElementAt(i++);
            Assert.Equal(shape, got.GetTensorTypeAndShape().Shape);
            var actual = got.GetTensorDataAsSpan<float>().ToArray();
            var scale = Math.Max(1.0, want.Max(Math.Abs));
            var worst = want.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= 1e-3 * scale, $"{fixtureFile} output '{expected.Name}': max difference {worst:g3} (scale {scale:g3})");
        }
    }

    private static OrtValue ToOrtValue(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        var bytes = Convert.FromBase64String(e.GetProperty("data").GetString()!);
        return e.GetProperty("dtype").GetString() switch
        {
            "float32" => OrtValue.CreateTensorValueFromMemory(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray(), shape),
            "int32" => OrtValue.CreateTensorValueFromMemory(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes).ToArray(), shape),
            "int64" => OrtValue.CreateTensorValueFromMemory(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes).ToArray(), shape),
            var t => throw new InvalidDataException($"fixture dtype {t}"),
        };
    }

    private static (float[] Data, long[] Shape) Floats(JsonElement e) =>
        (System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Convert.FromBase64String(e.GetProperty("data").GetString()!)).ToArray(),
         e.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
}
