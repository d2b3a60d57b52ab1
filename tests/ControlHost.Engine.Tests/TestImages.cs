using System.Buffers.Binary;
using System.Text;
using ControlHost.Abstractions;

namespace ControlHost.Engine.Tests;

internal static class TestImages
{
    /// <summary>A filled rectangle of one colour on a background of another.</summary>
    public static RgbImage Rectangle(int width, int height, int x0, int y0, int x1, int y1,
        (byte R, byte G, byte B) fill, (byte R, byte G, byte B) background)
    {
        var pixels = new byte[width * height * 3];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var c = x >= x0 && x < x1 && y >= y0 && y < y1 ? fill : background;
                var i = (y * width + x) * 3;
                (pixels[i], pixels[i + 1], pixels[i + 2]) = (c.R, c.G, c.B);
            }
        return new RgbImage(width, height, pixels);
    }

    /// <summary>Columns x0..x1 of an image (all rows).</summary>
    public static RgbImage Crop(RgbImage image, int x0, int x1)
    {
        var w = x1 - x0;
        var pixels = new byte[w * image.Height * 3];
        for (var y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, (y * image.Width + x0) * 3, pixels, y * w * 3, w * 3);
        return new RgbImage(w, image.Height, pixels);
    }

    /// <summary>A PNG whose header claims the given size but which has no pixel data.</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // RGB
        WriteChunk(ms, "IHDR", ihdr);
        WriteChunk(ms, "IEND", []);
        return ms.ToArray();
    }

    private static void WriteChunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, data.Length);
        s.Write(len);
        var typeAndData = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typeAndData);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(typeAndData));
        s.Write(crc);
    }

    private static uint Crc32(byte[] bytes)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
