using ControlHost.Application.Errors;
using ControlHost.Application.UserModels;

namespace ControlHost.Checkpoints.Tests;

/// <summary>
/// The users' own files through the application layer: a checkpoint, a ControlNet, a LoRA and an embedding in an
/// A1111 models folder are built, cached and generated from, by name, as the CLI and the server ask.
/// </summary>
public sealed class UserFolderGenerationTests(UserFolderFixture f) : IClassFixture<UserFolderFixture>
{
    [Fact]
    public void A_checkpoint_with_a_ControlNet_a_LoRA_and_an_embedding_from_an_A1111_folder_generates()
    {
        var output = f.Service.Generate(UserFolderFixture.Job("a photo of smallemb <lora:small-lora:0.8>"));
        Assert.Empty(output.Warnings);
        var image = Assert.Single(output.Images);
        Assert.Equal((64, 64), (image.Image.Width, image.Image.Height));
        Assert.Equal("small-sd15", output.Model);
        Assert.StartsWith("a photo of smallemb <lora:small-lora:0.8>\n", image.Infotext);
        Assert.Contains($"Lora hashes: \"small-lora: {BuiltModelCache.Sha256(Fixtures.Lora)[..12]}\"", image.Infotext);
        Assert.Contains("Model: control_small_sd15_canny", image.Infotext);
    }

    [Fact]
    public void The_LoRA_changes_the_image_and_weight_zero_is_no_LoRA()
    {
        var plain = f.Service.Generate(UserFolderFixture.Job("a photo")).Images[0].Image.Pixels;
        var with = f.Service.Generate(UserFolderFixture.Job("a photo <lora:small-lora:1>")).Images[0].Image.Pixels;
        var zero = f.Service.Generate(UserFolderFixture.Job("a photo <lora:small-lora:0>")).Images[0].Image.Pixels;
        Assert.NotEqual(plain, with);
        Assert.Equal(plain, zero);
        var cli = f.Service.Generate(UserFolderFixture.Job("a photo") with { Loras = [new LoraSpec("small-lora", 1)] }).Images[0].Image.Pixels;
        Assert.Equal(with, cli);
    }

    [Fact]
    public void The_embedding_s_name_in_the_prompt_becomes_its_rows()
    {
        var folder = f.Service.ResolveModel("small-sd15");
        f.Service.Generate(UserFolderFixture.Job("x", canny: false));
        var lease = f.Service.Pool.Acquire(folder, Checkpoints.Additions.ModelExtras.KeyOf([], f.Service.Catalog.Files.Embeddings), () => throw new InvalidOperationException("should be loaded"));
        using (lease)
        {
            var ids = lease.Model.Tokenizer.Encode("a photo of smallemb");
            Assert.Equal([49408, 49409], ids.TakeLast(2));
        }
        var with = f.Service.Generate(UserFolderFixture.Job("a photo of smallemb", canny: false)).Images[0].Image.Pixels;
        var other = f.Service.Generate(UserFolderFixture.Job("a photo of smallest", canny: false)).Images[0].Image.Pixels;
        Assert.NotEqual(with, other);
    }

    [Fact]
    public void Same_seed_same_bytes_and_a_second_service_finds_the_build_in_the_cache()
    {
        var a = f.Service.Generate(UserFolderFixture.Job("a photo <lora:small-lora:0.5>")).Images[0];
        var folder = f.Service.Built.FolderOf(f.CheckpointFile);
        var built = File.GetLastWriteTimeUtc(Path.Combine(folder, "unet", "model.onnx"));
        using var second = f.NewService();
        Assert.True(second.Built.IsBuilt(f.CheckpointFile));
        var b = second.Generate(UserFolderFixture.Job("a photo <lora:small-lora:0.5>")).Images[0];
        Assert.Equal(a.Image.Pixels, b.Image.Pixels);
        Assert.Equal(a.Infotext, b.Infotext);
        Assert.Equal(built, File.GetLastWriteTimeUtc(Path.Combine(folder, "unet", "model.onnx")));
    }

    [Fact]
    public void An_unknown_LoRA_is_not_found_naming_the_ones_there()
    {
        var e = Assert.Throws<NotFoundException>(() => f.Service.Generate(UserFolderFixture.Job("a photo <lora:nothing:1>")));
        Assert.Contains("small-lora", e.Message);
    }

    [Fact]
    public void A_LoRA_on_an_ONNX_folder_model_says_it_needs_a_checkpoint()
    {
        var e = Assert.Throws<BadInputException>(() => f.Service.Generate(UserFolderFixture.Job("a photo <lora:small-lora:1>", canny: false) with { Model = "tiny-sd" }));
        Assert.Contains("checkpoint", e.Message);
    }

    [Fact]
    public void A_checkpoint_file_named_by_path_and_the_ComfyUI_folder_names_work_too()
    {
        var comfy = Path.Combine(f.Root, "ComfyUI", "models");
        Directory.CreateDirectory(Path.Combine(comfy, "checkpoints"));
        Directory.CreateDirectory(Path.Combine(comfy, "controlnet"));
        File.Copy(Fixtures.Checkpoint, Path.Combine(comfy, "checkpoints", "comfy-small.safetensors"));
        File.Copy(Fixtures.ControlNet, Path.Combine(comfy, "controlnet", "comfy_canny.safetensors"));
        CopyFolder(Path.Combine(Fixtures.Dir, "diffusers-sd15"), Path.Combine(comfy, "diffusers", "comfy-diffusers"));
        var catalog = new Engine.Models.ModelCatalog([Path.Combine(f.Root, "ComfyUI")]);
        Assert.Equal(["comfy-small", "comfy-diffusers"], catalog.Files.Checkpoints.Select(Path.GetFileNameWithoutExtension));
        Assert.Equal(["comfy_canny"], catalog.Files.ControlNets.Select(Path.GetFileNameWithoutExtension));
        var byPath = f.Service.Generate(UserFolderFixture.Job("a photo") with { Model = f.CheckpointFile }).Images[0];
        Assert.Equal(f.Service.Generate(UserFolderFixture.Job("a photo")).Images[0].Image.Pixels, byPath.Image.Pixels);
        // the diffusers folder holds the same weights: the same image, to the float32 rounding of another graph's weights
        var diffusers = f.Service.Generate(UserFolderFixture.Job("a photo") with { Model = Path.Combine(comfy, "diffusers", "comfy-diffusers") }).Images[0];
        Assert.Equal((64, 64), (diffusers.Image.Width, diffusers.Image.Height));
        var differing = byPath.Image.Pixels.Zip(diffusers.Image.Pixels).Count(p => Math.Abs(p.First - p.Second) > 2);
        Assert.True(differing < byPath.Image.Pixels.Length / 100, $"{differing} of {byPath.Image.Pixels.Length} values differ by more than 2");
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
