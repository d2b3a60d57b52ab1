using System.Globalization;
using ControlHost.Abstractions;
using ControlHost.Application.Errors;
using ControlHost.Application.Sources;
using ControlHost.Application.Units;
using ControlHost.Engine.Imaging;
using ControlHost.Engine.Pipeline;
using ControlHost.Preprocessors;
using OpenCvSharp;

namespace ControlHost.Application.Inpainting;

/// <summary>
/// One inpainting job laid out (A1111's algorithm, ../shared/inpainting-notes.md): the mask in init-image pixels,
/// one <see cref="CropTransform"/> (the whole image, or the mask's box plus padding for "only masked"), and the
/// init image, mask and every unit's image and region mask moved onto the working canvas by that same transform.
/// After generation <see cref="Paste"/> puts the decoded canvas back through the source mask, once: outside it
/// every pixel is the init image's.
/// </summary>
public sealed class InpaintPlan
{
    private InpaintPlan(InpaintSpec spec, RgbImage source, byte[] sourceMask, CropTransform transform, RgbImage workingInit, RgbImage workingMask)
    {
        Spec = spec;
        Source = source;
        SourceMask = sourceMask;
        Transform = transform;
        WorkingInit = workingInit;
        WorkingMask = workingMask;
    }

    public InpaintSpec Spec { get; }
    public RgbImage Source { get; }

    /// <summary>Init-image pixels, 0 keep .. 255 generate, after invert, feather and blur.</summary>
    public byte[] SourceMask { get; }

    public CropTransform Transform { get; }
    public RgbImage WorkingInit { get; }
    public RgbImage WorkingMask { get; }
    public MaskedContent Content => Spec.Content ?? MaskedContent.Original;

    public MaskedLatentStart LatentStart => Content switch
    {
        MaskedContent.LatentNoise => MaskedLatentStart.Noise,
        MaskedContent.LatentNothing => MaskedLatentStart.Zero,
        _ => MaskedLatentStart.Original,
    };

    /// <exception cref="BadInputException">A bad region, blur, padding or mask.</exception>
    public static InpaintPlan Create(RgbImage source, InpaintSpec spec, int workingWidth, int workingHeight, PathPolicy paths, ImageBudget? budget = null)
    {
        var mask = MaskBuilder.Build(spec, source.Width, source.Height, paths, budget);
        var padding = spec.Padding ?? InpaintSpec.DefaultPadding;
        if (padding is < 0 or > 4096) throw new BadInputException("inpaint_full_res_padding", $"padding {padding}: must be 0..4096 pixels");
        var transform = spec.OnlyMasked
            ? CropTransform.AroundBox(MaskBuilder.Bounds(mask, source.Width, source.Height), padding, source.Width, source.Height, workingWidth, workingHeight)
            : CropTransform.Whole(source.Width, source.Height, workingWidth, workingHeight);
        var workingInit = transform.IsIdentity ? source : transform.Apply(source);
        var workingMask = transform.IsIdentity ? CropTransform.Replicate(mask, source.Width, source.Height) : CropTransform.Replicate(transform.ApplyMask(mask), workingWidth, workingHeight);
        if ((spec.Content ?? MaskedContent.Original) == MaskedContent.Fill) workingInit = Fill(workingInit, workingMask);
        return new InpaintPlan(spec, source, mask, transform, workingInit, workingMask);
    }

    /// <summary>A unit with its image and region mask on the working canvas: each is first fitted to the init image's
    /// size with the unit's resize mode (a hint drawn for the whole picture), then moved by the job's transform.</summary>
    public UnitSpec OnCanvas(UnitSpec unit, int index, PathPolicy paths, bool spatial, ImageBudget? budget = null)
    {
        if (!spatial) return unit; // a global condition (a colour histogram) has no place to be cropped to
        var image = unit.Image.IsOpenPoseJson(paths) ? unit.Image.RenderOpenPose(paths, $"unit {index + 1}", budget) : unit.Image.Load(paths, $"unit {index + 1}", budget);
        var onCanvas = Move(image, unit.Resize);
        return unit with
        {
            Image = onCanvas,
            Preprocess = unit.Preprocess && !unit.Image.IsOpenPoseJson(paths),
            Resize = ResizeMode.JustResize,
            Mask = unit.Mask is { } m ? ImageSource.FromImage(Move(m.Load(paths, $"unit {index + 1} mask", budget), unit.Resize)) : null,
        };
    }

    private RgbImage Move(RgbImage image, ResizeMode resize)
    {
        var fitted = image.Width == Source.Width && image.Height == Source.Height ? image : ImageIo.Fit(image, Source.Width, Source.Height, resize);
        return Transform.IsIdentity ? fitted : Transform.ApplyHint(fitted);
    }

    /// <summary>The decoded canvas back in the init image, through the source mask.</summary>
    public RgbImage Paste(RgbImage decoded) => Transform.PasteBack(Source, decoded, SourceMask);

    /// <summary>What the infotext records of the inpainting, in A1111's keys.</summary>
    public IEnumerable<string> InfotextPairs()
    {
        yield return $"Mask blur: {(Spec.MaskBlur ?? InpaintSpec.DefaultMaskBlur).ToString("0.###", CultureInfo.InvariantCulture)}";
        if (Spec.Feather > 0) yield return $"Mask feather: {Spec.Feather}";
        if (Spec.Invert) yield return "Mask mode: Inpaint not masked";
        yield return $"Masked content: {Names.InpaintNames.Format(Content)}";
        if (Spec.OnlyMasked)
        {
            yield return "Inpaint area: Only masked";
            yield return $"Masked area padding: {Spec.Padding ?? InpaintSpec.DefaultPadding}";
        }
    }

    /// <summary>A1111's "fill": the masked region painted from the colours around it (OpenCV's Telea inpainting)
    /// before encoding, so that nothing of what was there shows through.</summary>
    private static RgbImage Fill(RgbImage image, RgbImage mask)
    {
        using var src = MatConversions.View(image);
        using var m = new Mat(image.Height, image.Width, MatType.CV_8UC1);
        var bytes = new byte[image.Width * image.Height];
        for (var i = 0; i < bytes.Length; i++) bytes[i] = mask.Pixels[3 * i] > 0 ? (byte)255 : (byte)0;
        System.Runtime.InteropServices.Marshal.Copy(bytes, 0, m.Data, bytes.Length);
        using var dst = new Mat();
        Cv2.Inpaint(src, m, dst, 5, InpaintTypes.Telea);
        return MatConversions.ToRgb(dst);
    }
}
