using System.Net;
using System.Text;

namespace ControlHost.Server.Tests;

/// <summary>Inputs that used to reach a 500 or unbounded work (issue 23, findings 1 and 4) are now a 422 naming the field.</summary>
public sealed class HardeningTests(ServerFixture f) : IClassFixture<ServerFixture>
{
    private async Task<(HttpStatusCode Status, string Body)> PostRaw(string path, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await f.Client.PostAsync(path, content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<(HttpStatusCode Status, string Body)> Post(string path, string json) => PostRaw(path, Encoding.UTF8.GetBytes(json));

    [Fact]
    public async Task A_null_ControlNet_script_is_a_422_naming_it()
    {
        var (status, body) = await Post("/sdapi/v1/txt2img", """{"alwayson_scripts":{"ControlNet":null}}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("\"ControlNet\"]", body);
    }

    [Theory]
    [InlineData("/sdapi/v1/txt2img")]
    [InlineData("/sdapi/v1/img2img")]
    [InlineData("/controlhost/v1/place")]
    public async Task A_lone_surrogate_or_invalid_UTF8_in_a_string_is_a_422(string route)
    {
        var (surrogate, text) = await Post(route, """{"prompt":"a \ud800 star","steps":2}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, surrogate);
        Assert.Contains("\"prompt\"]", text);
        var bytes = Encoding.UTF8.GetBytes("""{"prompt":"a XX star","steps":2}""");
        var at = Array.IndexOf(bytes, (byte)'X');
        bytes[at] = 0xFF;
        bytes[at + 1] = 0xFE;
        var (invalid, _) = await PostRaw(route, bytes);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, invalid);
    }

    [Fact]
    public async Task An_OpenPose_canvas_over_the_limit_is_refused_before_anything_is_drawn()
    {
        var (status, body) = await Post("/controlnet/render_openpose_json", """[{"people":[],"canvas_width":60000,"canvas_height":60000}]""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("over the limit", body);
        var unit = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"people":[],"canvas_width":2147483647,"canvas_height":2}"""));
        var (viaUnit, unitBody) = await Post("/sdapi/v1/txt2img",
            "{\"prompt\":\"x\",\"steps\":2,\"alwayson_scripts\":{\"ControlNet\":{\"args\":[{\"module\":\"openpose\",\"image\":\"" + unit + "\"}]}}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, viaUnit);
        Assert.Contains("over the limit", unitBody);
    }

    [Fact]
    public async Task A_prompt_over_the_limit_is_a_422_naming_the_limit_before_any_work()
    {
        var prompt = new string('a', 16_385);
        var (status, body) = await Post("/sdapi/v1/txt2img", $"{{\"prompt\":\"{prompt}\",\"steps\":2}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("the limit is 16384", body);
        var (negative, _) = await Post("/controlhost/v1/place", $"{{\"negative_prompt\":\"{prompt}\"}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, negative);
    }

    [Fact]
    public async Task Errors_name_models_by_name_never_by_server_path()
    {
        var (status, body) = await Post("/sdapi/v1/options", """{"sd_model_checkpoint": "no-such-model"}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("tiny-sd", body);
        Assert.DoesNotContain(ServerFixture.Root, body);
        var (unit, unitBody) = await Post("/sdapi/v1/txt2img",
            "{\"prompt\":\"x\",\"steps\":2,\"alwayson_scripts\":{\"ControlNet\":{\"args\":[{\"module\":\"lineart\",\"model\":\"None\",\"image\":\"" + ServerFixture.Example("star-scene.png") + "\"}]}}}");
        Assert.DoesNotContain(ServerFixture.Root, unitBody);
    }

    [Fact]
    public async Task The_checkpoint_option_refuses_an_inpainting_model_and_later_requests_keep_working()
    {
        var (status, body) = await Post("/sdapi/v1/options", """{"sd_model_checkpoint": "tiny-sd-inpainting"}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        Assert.Contains("inpainting model", body);
        var (txt, _) = await Post("/sdapi/v1/txt2img", """{"prompt": "a red star", "steps": 2, "seed": 1}""");
        Assert.Equal(HttpStatusCode.OK, txt);
    }

    [Fact]
    public async Task A_malformed_pose_JSON_unit_is_a_422_on_img2img_with_a_mask_and_in_place()
    {
        // Finding 4: txt2img answered 422 for this unit image; img2img with a mask and place answered 500.
        var pose = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"people": [{"pose_keypoints_2d": "nonsense"}], "canvas_width": 64"""));
        var scene = ServerFixture.Example("star-scene.png");
        var unit = "{\"module\":\"none\",\"model\":\"controlnet-tiny-pose\",\"image\":\"" + pose + "\"}";
        var (img2img, body) = await Post("/sdapi/v1/img2img",
            "{\"prompt\":\"x\",\"steps\":1,\"init_images\":[\"" + scene + "\"],\"mask\":\"" + scene + "\",\"alwayson_scripts\":{\"ControlNet\":{\"args\":[" + unit + "]}}}");
        Assert.True(img2img == HttpStatusCode.UnprocessableEntity, body);
        Assert.Contains("OpenPose", body);
        var (place, placeBody) = await Post("/controlhost/v1/place",
            "{\"prompt\":\"x\",\"steps\":1,\"background\":\"" + scene + "\",\"boxes\":[{\"box\":[8,8,32,32],\"units\":[" + unit + "]}]}");
        Assert.True(place == HttpStatusCode.UnprocessableEntity, placeBody);
        Assert.Contains("OpenPose", placeBody);
    }

    [Fact]
    public async Task A_unit_with_an_empty_image_on_img2img_uses_the_init_image()
    {
        var scene = ServerFixture.Example("star-scene.png");
        var (status, body) = await Post("/sdapi/v1/img2img",
            "{\"prompt\":\"x\",\"steps\":2,\"seed\":3,\"init_images\":[\"" + scene + "\"],\"alwayson_scripts\":{\"ControlNet\":{\"args\":[{\"enabled\":true,\"module\":\"canny\",\"model\":\"controlnet-tiny-canny\",\"image\":\"\"}]}}}");
        Assert.True(status == HttpStatusCode.OK, body);
        var info = System.Text.Json.JsonDocument.Parse(System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("info").GetString()!).RootElement;
        Assert.Contains("ControlNet 0", info.GetProperty("infotexts")[0].GetString());
    }

    [Theory]
    [InlineData("/sdapi/v1/txt2img", "StableDiffusionProcessingTxt2Img", "alwayson_scripts")]
    [InlineData("/sdapi/v1/img2img", "StableDiffusionProcessingImg2Img", "init_images")]
    [InlineData("/sdapi/v1/options", "OptionsRequest", "sd_model_checkpoint")]
    [InlineData("/sdapi/v1/png-info", "PNGInfoRequest", "image")]
    [InlineData("/controlnet/detect", "DetectRequest", "controlnet_input_images")]
    [InlineData("/controlhost/v1/place", "PlaceRequest", "boxes")]
    [InlineData("/controlhost/v1/suggest-boxes", "SuggestBoxesRequest", "free_space_only")]
    public async Task The_OpenAPI_document_names_each_request_body_with_its_fields(string route, string schema, string field)
    {
        // Finding 8: the bodies were read from the raw request, so the document had no request body at all.
        var doc = (await f.Get("/openapi/v1.json")).Body;
        var body = doc.GetProperty("paths").GetProperty(route).GetProperty("post").GetProperty("requestBody");
        Assert.Equal("#/components/schemas/" + schema, body.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(doc.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties").TryGetProperty(field, out _));
    }

    [Theory]
    [InlineData("/sdapi/v1/txt2img", "post", "TextToImageResponse", "info")]
    [InlineData("/sdapi/v1/img2img", "post", "ImageToImageResponse", "images")]
    [InlineData("/sdapi/v1/progress", "get", "ProgressResponse", "current_image")]
    [InlineData("/sdapi/v1/png-info", "post", "PNGInfoResponse", "parameters")]
    [InlineData("/controlnet/detect", "post", "DetectResponse", "poses")]
    [InlineData("/sdapi/v1/extra-single-image", "post", "ExtrasSingleImageResponse", "html_info")]
    [InlineData("/sdapi/v1/extra-batch-images", "post", "ExtrasBatchImagesResponse", "images")]
    public async Task The_OpenAPI_document_names_the_main_responses(string route, string method, string schema, string field)
    {
        var doc = (await f.Get("/openapi/v1.json")).Body;
        var ok = doc.GetProperty("paths").GetProperty(route).GetProperty(method).GetProperty("responses").GetProperty("200");
        Assert.Equal("#/components/schemas/" + schema, ok.GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        Assert.True(doc.GetProperty("components").GetProperty("schemas").GetProperty(schema).GetProperty("properties").TryGetProperty(field, out _));
    }
}
