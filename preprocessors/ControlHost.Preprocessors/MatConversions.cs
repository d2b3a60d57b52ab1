using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>Copies between the contract's RGB images and OpenCV matrices (RGB channel order is kept).</summary>
public static class MatConversions
{
    public static Mat ToMat(RgbImage image) => Mat.FromPixelData(image.Height, image.Width, MatType.CV_8UC3, image.Pixels).Clone();

    /// <summary>An 8-bit single- or three-channel Mat to an RGB image (grey replicated to three channels).</summary>
    public static RgbImage ToRgb(Mat mat)
    {
        using var rgb = new Mat();
        if (mat.Channels() == 1) Cv2.CvtColor(mat, rgb, ColorConversionCodes.GRAY2RGB);
        else mat.CopyTo(rgb);
        if (rgb.Type() != MatType.CV_8UC3) throw new ArgumentException($"expected an 8-bit image, got {rgb.Type()}");
        var pixels = new byte[rgb.Rows * rgb.Cols * 3];
        using (var continuous = rgb.IsContinuous() ? rgb : rgb.Clone())
            System.Runtime.InteropServices.Marshal.Copy(continuous.Data, pixels, 0, pixels.Length);
        return new RgbImage(rgb.Cols, rgb.Rows, pixels);
    }
}
