// The request bodies as the OpenAPI document names them (A1111's and the extension's model names where they have one).
// The routes read bodies leniently with Body (numbers as strings, 0/1 booleans, every error at once), so these types
// only describe: the property names are the JSON keys as clients send them, which is why they are snake_case here.
namespace ControlHost.Server.Api.Schemas;

/// <summary>A sd-webui-controlnet unit in alwayson_scripts.ControlNet.args.</summary>
public sealed record ControlNetUnitRequest(
    bool? enabled, string? module, string? model, double? weight, string? image, string? resize_mode, string? control_mode,
    double? processor_res, double? threshold_a, double? threshold_b, double? guidance_start, double? guidance_end, bool? pixel_perfect,
    string? effective_region_mask, bool? save_detected_map, bool? low_vram);

/// <summary>The ControlNet script's arguments.</summary>
public sealed record ControlNetScriptArgs(IReadOnlyList<ControlNetUnitRequest>? args);

/// <summary>alwayson_scripts: the ControlNet script by name (others are ignored with a warning).</summary>
public sealed record AlwaysOnScripts(ControlNetScriptArgs? ControlNet);

/// <summary>POST /sdapi/v1/txt2img.</summary>
public sealed record StableDiffusionProcessingTxt2Img(
    string? prompt, string? negative_prompt, long? seed, string? sampler_name, int? batch_size, int? n_iter, int? steps, double? cfg_scale,
    int? width, int? height, Dictionary<string, string>? override_settings, bool? send_images, AlwaysOnScripts? alwayson_scripts);

/// <summary>POST /sdapi/v1/img2img: txt2img's fields and the init image, mask and inpainting options.</summary>
public sealed record StableDiffusionProcessingImg2Img(
    string? prompt, string? negative_prompt, long? seed, string? sampler_name, int? batch_size, int? n_iter, int? steps, double? cfg_scale,
    int? width, int? height, Dictionary<string, string>? override_settings, bool? send_images, AlwaysOnScripts? alwayson_scripts,
    IReadOnlyList<string> init_images, int? resize_mode, double? denoising_strength, string? mask, double? mask_blur, int? inpainting_fill,
    bool? inpaint_full_res, int? inpaint_full_res_padding, int? inpainting_mask_invert, bool? include_init_images);

/// <summary>POST /sdapi/v1/options: the options to set (ControlHost acts on sd_model_checkpoint).</summary>
public sealed record OptionsRequest(string? sd_model_checkpoint);

/// <summary>POST /sdapi/v1/png-info.</summary>
public sealed record PNGInfoRequest(string image);

/// <summary>POST /controlnet/detect.</summary>
public sealed record DetectRequest(
    string? controlnet_module, IReadOnlyList<string> controlnet_input_images, double? controlnet_processor_res, double? controlnet_threshold_a,
    double? controlnet_threshold_b, IReadOnlyList<string>? controlnet_masks, bool? low_vram);

/// <summary>One person of an OpenPose document: flat [x, y, confidence, ...] lists.</summary>
public sealed record OpenPosePerson(IReadOnlyList<double>? pose_keypoints_2d, IReadOnlyList<double>? hand_left_keypoints_2d,
    IReadOnlyList<double>? hand_right_keypoints_2d, IReadOnlyList<double>? face_keypoints_2d);

/// <summary>An OpenPose JSON document (POST /controlnet/render_openpose_json takes a list of them).</summary>
public sealed record OpenPoseDocument(IReadOnlyList<OpenPosePerson> people, int canvas_width, int canvas_height);

/// <summary>One box of a placement: [x, y, w, h] in background pixels, its prompt and units.</summary>
public sealed record PlacementBox(IReadOnlyList<int> box, string? prompt, string? negative_prompt, IReadOnlyList<ControlNetUnitRequest>? units);

/// <summary>POST /controlhost/v1/place.</summary>
public sealed record PlaceRequest(
    string background, IReadOnlyList<PlacementBox> boxes, string? prompt, string? negative_prompt, int? steps, double? cfg_scale,
    string? sampler_name, long? seed, string? model, int? padding, int? feather, string? harmonize, bool? allow_overlap, int? inpainting_fill);

/// <summary>POST /controlhost/v1/suggest-boxes.</summary>
public sealed record SuggestBoxesRequest(string background, int width, int height, int? count, bool? free_space_only);

/// <summary>POST /sdapi/v1/extra-single-image: upscale one image (resize_mode 0: by upscaling_resize; 1: to a size).</summary>
public sealed record ExtrasSingleImageRequest(
    string image, int? resize_mode, double? upscaling_resize, int? upscaling_resize_w, int? upscaling_resize_h, bool? upscaling_crop,
    string? upscaler_1, string? upscaler_2, double? extras_upscaler_2_visibility);

/// <summary>One image of a batch: its base64 data and name.</summary>
public sealed record ExtrasImage(string data, string? name);

/// <summary>POST /sdapi/v1/extra-batch-images.</summary>
public sealed record ExtrasBatchImagesRequest(
    IReadOnlyList<ExtrasImage> imageList, int? resize_mode, double? upscaling_resize, int? upscaling_resize_w, int? upscaling_resize_h,
    bool? upscaling_crop, string? upscaler_1, string? upscaler_2, double? extras_upscaler_2_visibility);

/// <summary>txt2img's and img2img's answer: base64 PNGs (the images, then the detected maps), the request, and A1111's info as a JSON string.</summary>
public sealed record TextToImageResponse(IReadOnlyList<string> images, Dictionary<string, object?> parameters, string info);

/// <summary>img2img's answer (the same fields as txt2img's).</summary>
public sealed record ImageToImageResponse(IReadOnlyList<string> images, Dictionary<string, object?> parameters, string info);

/// <summary>The running job's state, as A1111's /progress.</summary>
public sealed record ProgressState(bool skipped, bool interrupted, string job, int job_count, string job_timestamp, int job_no, int sampling_step, int sampling_steps);

/// <summary>GET /sdapi/v1/progress.</summary>
public sealed record ProgressResponse(double progress, double eta_relative, ProgressState state, string? current_image, string? textinfo);

/// <summary>POST /sdapi/v1/png-info.</summary>
public sealed record PNGInfoResponse(string info, Dictionary<string, string> items, Dictionary<string, string> parameters);

/// <summary>POST /controlnet/detect: the maps (and OpenPose JSON for pose modules).</summary>
public sealed record DetectResponse(string info, IReadOnlyList<string> images, IReadOnlyList<object>? poses, IReadOnlyList<string>? warnings);

/// <summary>POST /sdapi/v1/extra-single-image.</summary>
public sealed record ExtrasSingleImageResponse(string html_info, string image);

/// <summary>POST /sdapi/v1/extra-batch-images.</summary>
public sealed record ExtrasBatchImagesResponse(string html_info, IReadOnlyList<string> images);
