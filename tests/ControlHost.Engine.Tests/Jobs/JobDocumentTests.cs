using ControlHost.Application.Errors;
using ControlHost.Application.Generation;
using ControlHost.Application.Jobs;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;

namespace ControlHost.Engine.Tests.Jobs;

public class JobDocumentTests(EmbeddedModelFixture f) : IClassFixture<EmbeddedModelFixture>
{
    private static byte[] Png(Abstractions.RgbImage image) => JobRunner.Png(image, null, null);

    [Fact]
    public void One_validation_returns_every_field_error_at_once()
    {
        var json = """
            {"version": 1, "generate": {"prompt": "x", "steps": 0, "width": 100, "sampler": "Nope", "seed": -2,
             "units": [{"condition": "canny", "weight": 3, "mode": "sideways"}, {"condition": "", "image": "sha256:00"}]}}
            """;
        var e = Assert.Throws<JobValidationException>(() => JobDocument.Parse(json));
        // The bad hash is a format error found while reading, before the rest: the document is read first.
        Assert.Single(e.Errors);
        Assert.Contains("sha256", e.Errors[0].Message);

        json = json.Replace("\"image\": \"sha256:00\"", "\"image\": \"sha256:" + new string('a', 64) + "\"", StringComparison.Ordinal);
        e = Assert.Throws<JobValidationException>(() => JobDocument.Parse(json));
        var fields = e.Errors.Select(x => string.Join(".", x.Path)).ToList();
        Assert.Equal(["generate.width", "generate.steps", "generate.sampler", "generate.seed", "generate.units.0.image",
            "generate.units.0.weight", "generate.units.0.mode", "generate.units.1.condition"], fields);
        Assert.Contains("multiple of 8", e.Errors[0].Message);
    }

    [Fact]
    public void Placement_detect_inpaint_and_hires_fields_are_checked_in_the_same_pass()
    {
        var place = Assert.Throws<JobValidationException>(() => JobDocument.Parse("""
            {"place": {"boxes": [{"box": "1,2,3", "units": [{"condition": "canny", "image": "AAAA", "start": 0.9, "end": 0.2}]}], "harmonize": "blend", "content": "mud", "feather": 999}}
            """));
        Assert.Equal(["place.background", "place.boxes.0.box", "place.boxes.0.units.0.end", "place.feather", "place.harmonize", "place.content"],
            place.Errors.Select(e => string.Join(".", e.Path)));
        var detect = Assert.Throws<JobValidationException>(() => JobDocument.Parse("""{"detect": {"module": " "}}"""));
        Assert.Equal(["detect.module", "detect.image"], detect.Errors.Select(e => string.Join(".", e.Path)));
        var generate = Assert.Throws<JobValidationException>(() => JobDocument.Parse("""
            {"generate": {"prompt": "x", "mask": "AAAA", "inpaint": {"box": "a,b", "polygon": [[1, 2]], "content": "mud"}, "hires": {"scale": 9, "sampler": "Nope"},
             "batch_size": 8, "n_iter": 8, "loras": [{"name": "", "weight": 50}]}}
            """, new JobLimits(2048, 150, 16, 3, 100, 4)));
        Assert.Equal(["generate.n_iter", "generate.mask", "generate.inpaint", "generate.inpaint.box", "generate.inpaint.polygon", "generate.inpaint.content",
            "generate.hires.scale", "generate.hires.sampler", "generate.loras.0.name", "generate.loras.0.weight"], generate.Errors.Select(e => string.Join(".", e.Path)));
        Assert.Contains("64 images; the limit is 16", generate.Errors[0].Message);
    }

    [Fact]
    public void A_document_gives_exactly_one_operation_and_its_version()
    {
        var e = Assert.Throws<JobValidationException>(() => JobDocument.Parse("""{"version": 2, "generate": {}, "detect": {"module": "canny", "image": "AAAA"}}"""));
        Assert.Equal(["version", "generate"], e.Errors.Select(x => x.Path[0]));
        var unknown = Assert.Throws<JobValidationException>(() => JobDocument.Parse("""{"generate": {"promt": "typo"}}"""));
        Assert.Contains("promt", unknown.Message);
    }

    [Fact]
    public async Task A_generation_as_a_document_gives_the_bytes_of_the_same_job_run_directly()
    {
        var job = EmbeddedModelFixture.Job("a red star on a blue background", 11,
            new UnitSpec { Condition = "canny", Image = EmbeddedModelFixture.Scene(0), Weight = 0.7f, End = 0.8 }) with { Steps = 6 };
        var direct = f.Service.Generate(job);

        // Through JSON and a blob store, as a job travels to a worker: by hash, the bytes put aside first.
        var store = new MemoryBlobStore();
        var byValue = new JobDocument { Generate = JobMapping.FromJob(job, JobMapping.ByValue(PathPolicy.Local)) };
        var travelled = JobDocument.Parse(await JobImages.ByHashAsync(byValue, store) is var byHash ? byHash.ToUtf8() : []);
        Assert.All(travelled.Images(), i => Assert.Null(i.Image.Data));
        var result = new JobRunner(f.Service).Run(travelled, await JobImages.FetchAsync(travelled, store));

        var decoded = ImageIo.Decode(new MemoryStream(result.Images[0].Png.Data!), "result");
        Assert.Equal(direct.Images[0].Image.Pixels, decoded.Pixels);
        Assert.Equal(direct.Images[0].Infotext, result.Images[0].Infotext);
        // The result's parameters are the job as run: the model and policy values filled in, the record in the PNG.
        var p = result.Parameters.Generate!;
        Assert.Equal((11L, 6, 128, 128, direct.Model), (p.Seed, p.Steps, p.Width, p.Height, p.Model));
        using var png = new MemoryStream(result.Images[0].Png.Data!);
        Assert.Equal(result.Parameters.ToJson(), PngParameters.ReadText(png, "result", JobRunner.JobKeyword));
    }

    [Fact]
    public async Task A_random_seed_is_recorded_as_drawn_and_the_record_repeats_the_bytes()
    {
        var store = new MemoryBlobStore();
        var document = new JobDocument { Generate = new GenerateDocument { Prompt = "a green circle", Seed = -1, Steps = 4, Width = 64, Height = 64 } };
        var runner = new JobRunner(f.Service);
        var first = runner.Run(document, await JobImages.FetchAsync(document, store));
        Assert.NotEqual(-1, first.Parameters.Generate!.Seed);
        var again = runner.Run(first.Parameters, await JobImages.FetchAsync(first.Parameters, store));
        Assert.Equal(first.Images[0].Png.Data, again.Images[0].Png.Data);
    }

    [Fact]
    public async Task An_image_by_hash_must_be_stored_and_have_its_hash()
    {
        var bytes = Png(EmbeddedModelFixture.Scene(1));
        var hash = ImageRef.HashOf(bytes);
        var document = new JobDocument { Detect = new DetectDocument { Module = "canny", Image = ImageRef.ByHash(hash) } };
        var missing = await Assert.ThrowsAsync<BadInputException>(() => JobImages.FetchAsync(document, new MemoryBlobStore()));
        Assert.Contains($"sha256:{hash} is not stored here", missing.Message);

        var corrupted = new MemoryBlobStore();
        await corrupted.PutAsync(hash, Png(EmbeddedModelFixture.Scene(2)));
        var wrong = await Assert.ThrowsAsync<BadInputException>(() => JobImages.FetchAsync(document, corrupted));
        Assert.Contains("do not have that hash", wrong.Message);

        var good = new MemoryBlobStore();
        await good.PutAsync(hash, bytes);
        var detected = new JobRunner(f.Service).Run(document, await JobImages.FetchAsync(document, good));
        Assert.Equal("detect", detected.Operation);
        Assert.Single(detected.DetectedMaps);
    }

    [Fact]
    public async Task Units_keep_every_field_through_the_document()
    {
        var unit = new UnitSpec
        {
            Condition = "canny", Image = ImageSource.FromBytes(Png(EmbeddedModelFixture.Scene(0))), Weight = 0.5f, Start = 0.1, End = 0.9,
            Mode = Engine.Conditioning.ControlMode.ControlFirst, Resize = ResizeMode.ResizeAndFill, Preprocess = false, ProcessorResolution = 256,
            Mask = ImageSource.FromBytes(Png(EmbeddedModelFixture.Scene(1))), Options = new Dictionary<string, string> { ["low_threshold"] = "50" },
            Pass = HiresPass.HighResOnly, ReturnMap = false, UnionType = "Hard Edge", Model = "controlnet-tiny-canny",
        };
        var document = UnitDocument.From(unit, JobMapping.ByValue(PathPolicy.NamesOnly), "u");
        var json = System.Text.Json.JsonSerializer.Serialize(document, JobDocument.Json);
        var back = System.Text.Json.JsonSerializer.Deserialize<UnitDocument>(json, JobDocument.Json)!;
        var images = await JobImages.FetchAsync(new JobDocument { Generate = new GenerateDocument { Units = [back] } }, null);
        var spec = back.ToSpec(images, "u");
        Assert.Equal((unit.Condition, unit.Weight, unit.Start, unit.End, unit.Mode, unit.Resize, unit.Preprocess, unit.ProcessorResolution),
            (spec.Condition, spec.Weight, spec.Start, spec.End, spec.Mode, spec.Resize, spec.Preprocess, spec.ProcessorResolution));
        Assert.Equal((unit.Pass, unit.ReturnMap, unit.UnionType, unit.Model, "50"), (spec.Pass, spec.ReturnMap, spec.UnionType, spec.Model, spec.Options["low_threshold"]));
        Assert.Equal(unit.Mask!.Bytes(PathPolicy.NamesOnly, "m"), spec.Mask!.Bytes(PathPolicy.NamesOnly, "m"));
    }
}
