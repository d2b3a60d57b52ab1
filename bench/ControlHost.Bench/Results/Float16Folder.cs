namespace ControlHost.Bench.Results;

/// <summary>A model root like models/ whose tiny-sd and canny ControlNet are the float16-I/O copies of tests/fixtures/float16.</summary>
internal sealed class Float16Folder : IDisposable
{
    public Float16Folder()
    {
        Root = Directory.CreateTempSubdirectory("controlhost-bench-f16-").FullName;
        Copy(Path.Combine(BenchSetup.Models, "tiny-sd"), Path.Combine(Root, "tiny-sd"));
        Copy(Path.Combine(BenchSetup.Models, "controlnet-tiny-canny"), Path.Combine(Root, "controlnet-tiny-canny"));
        var f16 = Path.Combine(BenchSetup.Root, "tests", "fixtures", "float16");
        foreach (var (file, target) in new[] { ("unet.onnx", "tiny-sd/unet"), ("vae_decoder.onnx", "tiny-sd/vae_decoder"), ("text_encoder.onnx", "tiny-sd/text_encoder"), ("controlnet-canny.onnx", "controlnet-tiny-canny") })
            File.Copy(Path.Combine(f16, file), Path.Combine(Root, target, "model.onnx"), true);
    }

    public string Root { get; }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }

    public void Dispose() => Directory.Delete(Root, true);
}
