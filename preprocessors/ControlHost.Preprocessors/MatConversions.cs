using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>Copies between the contract's RGB images and OpenCV matrices (RGB channel order is kept).</summary>
public static class MatConversions
{
    public static Mat ToMat(RgbImage image)
    {
        // FromPixelData wraps (pins) the managed array; the clone owns its memory so the pin can end here.
        using var view = Mat.FromPixelData(image.Height, image.Width, MatType.CV_8UC3, image.Pixels);
        return view.Clone();
    }

    /// <summary>An 8-bit single- or three-channel Mat to an RGB image (grey replicated to three channels).</summary>
    public static RgbImage ToRgb(Mat mat)
    {
        using var rgb = new Mat();
        if (mat.Channels() == 1) Cv2.CvtColor(mat, rgb, ColorConversionCodes.GRAY2RGB);
        else mat.CopyTo(rgb);
        if (rgb.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit image, got {rgb.Type()}");
        // CopyTo into a fresh Mat always yields continuous memory, so one block copy reads every row.
        var pixels = new byte[rgb.Rows * rgb.Cols * 3];
        System.Runtime.InteropServices.Marshal.Copy(rgb.Data, pixels, 0, pixels.Length);
        return new RgbImage(rgb.Cols, rgb.Rows, pixels);
    }
}
