using System.Text.Json;
using ControlHost.Abstractions;
using OpenCvSharp;

namespace ControlHost.Preprocessors;

/// <summary>One person's 18 COCO body keypoints (x, y in pixels of the canvas; confidence 0 means missing).</summary>
public sealed record PosePerson(IReadOnlyList<(double X, double Y, double Confidence)> Body);

/// <summary>A set of people on a canvas: the OpenPose JSON that sd-webui-controlnet's /controlnet/detect returns.</summary>
public sealed record PoseDocument(int CanvasWidth, int CanvasHeight, IReadOnlyList<PosePerson> People);

/// <summary>
/// OpenPose JSON in and out, and the standard body render: limbs as ellipses (half-width 4) in 0.6x the limb's
/// colour, then joints as radius-4 discs in the joint's colour, on black (COCO-18 keypoint order).
/// </summary>
public static class OpenPose
{
    public const int BodyKeypoints = 18;
    private const int StickWidth = 4;
    private const int JointRadius = 4;

    /// <summary>Limb pairs (0-based keypoint indices) in drawing order.</summary>
    public static readonly (int A, int B)[] Limbs =
    [
        (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
        (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
    ];

    /// <summary>The standard OpenPose colours (RGB): limb i and joint i use colour i.</summary>
    public static readonly (byte R, byte G, byte B)[] Colours =
    [
        (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
        (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
        (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
    ];

    /// <summary>The largest canvas a pose document may ask for: each side, and in pixels (a 59-byte document claiming
    /// 60000x60000 would otherwise allocate gigabytes before anything checks it).</summary>
    public const int MaxCanvasSide = 8192;
    public const long MaxCanvasPixels = 4096L * 4096;

    /// <exception cref="InvalidDataException">Not OpenPose JSON, a person without 18 body keypoints, or a canvas over the limits.</exception>
    public static PoseDocument Parse(string json, string label = "pose JSON")
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            // /controlnet/detect returns a list of such documents; take the first.
            if (root.ValueKind == JsonValueKind.Array)
                root = root.EnumerateArray().FirstOrDefault();
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("people", out var people))
                throw new InvalidDataException($"{label}: no \"people\" list");
            var width = root.TryGetProperty("canvas_width", out var w) ? w.GetInt32() : 512;
            var height = root.TryGetProperty("canvas_height", out var h) ? h.GetInt32() : 512;
            if (width <= 0 || height <= 0) throw new InvalidDataException($"{label}: canvas {width}x{height} is empty");
            if (width > MaxCanvasSide || height > MaxCanvasSide || (long)width * height > MaxCanvasPixels)
                throw new InvalidDataException(
                    $"{label}: canvas {width}x{height} is over the limit ({MaxCanvasSide} a side, {MaxCanvasPixels / 1_000_000.0:0.#} megapixels); give the pose at the size of the image it is for");
            var list = new List<PosePerson>();
            foreach (var person in people.EnumerateArray())
            {
                var values = person.GetProperty("pose_keypoints_2d").EnumerateArray().Select(v => v.GetDouble()).ToArray();
                if (values.Length != BodyKeypoints * 3)
                    throw new InvalidDataException(
                        $"{label}: person {list.Count + 1} has {values.Length / 3} body keypoints; the COCO-18 layout has 18 (x, y, confidence) triples");
                var body = Enumerable.Range(0, BodyKeypoints).Select(k => (values[3 * k], values[3 * k + 1], values[3 * k + 2])).ToArray();
                // Some tools write coordinates normalised to 0..1.
                if (body.Where(p => p.Item3 > 0).All(p => p.Item1 <= 1 && p.Item2 <= 1))
                    body = body.Select(p => (p.Item1 * width, p.Item2 * height, p.Item3)).ToArray();
                list.Add(new PosePerson(body));
            }
            return new PoseDocument(width, height, list);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{label}: not OpenPose JSON ({e.Message})");
        }
    }

    public static string ToJson(PoseDocument pose) => JsonSerializer.Serialize(new
    {
        people = pose.People.Select(p => new { pose_keypoints_2d = p.Body.SelectMany(k => new[] { k.X, k.Y, k.Confidence }) }),
        canvas_width = pose.CanvasWidth,
        canvas_height = pose.CanvasHeight,
    });

    /// <summary>Renders the people on a black canvas of the given size (coordinates scaled from the JSON canvas).</summary>
    public static RgbImage Render(PoseDocument pose, int width, int height)
    {
        using var canvas = new Mat(height, width, MatType.CV_8UC3, Scalar.All(0));
        double sx = (double)width / pose.CanvasWidth, sy = (double)height / pose.CanvasHeight;
        foreach (var person in pose.People)
        {
            var k = person.Body.Select(p => (X: p.X * sx, Y: p.Y * sy, p.Confidence)).ToArray();
            for (var i = 0; i < Limbs.Length; i++)
            {
                var (a, b) = Limbs[i];
                if (k[a].Confidence <= 0 || k[b].Confidence <= 0) continue;
                var length = Math.Sqrt(Math.Pow(k[a].X - k[b].X, 2) + Math.Pow(k[a].Y - k[b].Y, 2));
                var angle = Math.Atan2(k[a].Y - k[b].Y, k[a].X - k[b].X) * 180 / Math.PI;
                var centre = new Point((int)((k[a].X + k[b].X) / 2), (int)((k[a].Y + k[b].Y) / 2));
                var polygon = Cv2.Ellipse2Poly(centre, new Size((int)(length / 2), StickWidth), (int)angle, 0, 360, 1);
                var c = Colours[i];
                // OpenCV takes the channels in the Mat's order; this Mat holds RGB.
                Cv2.FillConvexPoly(canvas, polygon, new Scalar((int)(c.R * 0.6), (int)(c.G * 0.6), (int)(c.B * 0.6)));
            }
            for (var i = 0; i < BodyKeypoints; i++)
            {
                if (k[i].Confidence <= 0) continue;
                var c = Colours[i];
                Cv2.Circle(canvas, new Point((int)k[i].X, (int)k[i].Y), JointRadius, new Scalar(c.R, c.G, c.B), -1);
            }
        }
        return MatConversions.ToRgb(canvas);
    }
}
