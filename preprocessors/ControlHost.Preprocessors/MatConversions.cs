using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>Between the contract's RGB images and OpenCV matrices (RGB channel order is kept).</summary>
public static class MatConversions
{
    /// <summary>
    /// A Mat over the image's own pixels: no copy, the array pinned until the Mat is disposed. Only read it; writing
    /// would change the image. Preprocessors read their input this way (a copy of a 512x512 image cost as much as a
    /// third of Canny's run).
    /// </summary>
    public static Mat View(RgbImage image) => Mat.FromPixelData(image.Height, image.Width, MatType.CV_8UC3, image.Pixels);

    /// <summary>A Mat with its own copy of the pixels, free to write.</summary>
    public static Mat ToMat(RgbImage image)
    {
        using var view = View(image);
        return view.Clone();
    }

    /// <summary>An 8-bit single- or three-channel Mat to an RGB image (grey replicated to three channels), written
    /// straight into the new image's array.</summary>
    public static RgbImage ToRgb(Mat mat)
    {
        if (mat.Depth() != MatType.CV_8U || mat.Channels() is not (1 or 3))
            throw new ArgumentException($"expected an 8-bit grey or RGB image, got {mat.Type()}");
        var pixels = new byte[mat.Rows * mat.Cols * 3];
        using (var target = Mat.FromPixelData(mat.Rows, mat.Cols, MatType.CV_8UC3, pixels))
        {
            var data = target.Data;
            if (mat.Channels() == 1) Cv2.CvtColor(mat, target, ColorConversionCodes.GRAY2RGB);
            else mat.CopyTo(target);
            // Same size and type, so OpenCV wrote in place; a reallocation would leave the array unwritten.
            if (target.Data != data) throw new InvalidOperationException("OpenCV reallocated the output image");
        }
        return new RgbImage(mat.Cols, mat.Rows, pixels);
    }
}
