namespace ControlHost.Preprocessors;

/// <summary>
/// Turns an OpenPose COCO body model's output (57 channels: 18 keypoint heatmaps, the background heatmap, then 38
/// part-affinity-field channels, an x and a y channel per connection) into people: heatmap peaks are the keypoint
/// candidates, each connection's candidate pairs are scored by how well the field along the segment points from one
/// to the other, the best pairs are taken greedily, and connections sharing a keypoint join into one person.
/// </summary>
public static class PoseDecoder
{
    /// <summary>CMU's COCO connections (0-based keypoints); the last two join ears to shoulders and only help grouping.</summary>
    public static readonly (int A, int B)[] Connections =
    [
        (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
        (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
    ];

    /// <summary>The x and y field channels of each connection, as channel indices of the 57-channel output.</summary>
    public static readonly (int X, int Y)[] FieldChannels =
    [
        (31, 32), (39, 40), (33, 34), (35, 36), (41, 42), (43, 44), (19, 20), (21, 22), (23, 24), (25, 26), (27, 28),
        (29, 30), (47, 48), (49, 50), (53, 54), (51, 52), (55, 56), (37, 38), (45, 46),
    ];

    private const int Samples = 10;

    private readonly record struct Candidate(int Id, double X, double Y, double Score);

    public static PoseDocument Decode(float[] output, int height, int width, int canvasWidth, int canvasHeight, double threshold = 0.1)
    {
        var plane = height * width;
        if (output.Length != 57 * plane) throw new ArgumentException($"expected 57 x {height} x {width} values, got {output.Length}");
        var candidates = new List<Candidate>[OpenPose.BodyKeypoints];
        var next = 0;
        for (var k = 0; k < OpenPose.BodyKeypoints; k++)
        {
            candidates[k] = [];
            var offset = k * plane;
            for (var y = 0; y < height; y++)
                for (var x = 0; x < width; x++)
                {
                    var v = output[offset + y * width + x];
                    if (v < threshold || !IsPeak(output, offset, width, height, x, y, v)) continue;
                    candidates[k].Add(new Candidate(next++, x, y, v));
                }
        }

        // person id of each candidate; each person is 18 candidate ids (-1 = missing)
        var owner = new Dictionary<int, int>();
        var people = new List<int[]>();
        var all = candidates.SelectMany((list, k) => list.Select(c => (c, k))).ToDictionary(t => t.c.Id, t => t.c);
        for (var c = 0; c < Connections.Length; c++)
        {
            var (a, b) = Connections[c];
            var (fx, fy) = FieldChannels[c];
            var pairs = new List<(double Score, Candidate A, Candidate B)>();
            foreach (var ca in candidates[a])
                foreach (var cb in candidates[b])
                    if (FieldScore(output, fx * plane, fy * plane, width, height, ca, cb) is { } s) pairs.Add((s, ca, cb));
            var usedA = new HashSet<int>();
            var usedB = new HashSet<int>();
            foreach (var (_, ca, cb) in pairs.OrderByDescending(p => p.Score))
            {
                if (!usedA.Add(ca.Id) || !usedB.Add(cb.Id)) continue;
                var hasA = owner.TryGetValue(ca.Id, out var pa);
                var hasB = owner.TryGetValue(cb.Id, out var pb);
                if (hasA && !hasB && people[pa][b] < 0) { people[pa][b] = cb.Id; owner[cb.Id] = pa; }
                else if (hasB && !hasA && people[pb][a] < 0) { people[pb][a] = ca.Id; owner[ca.Id] = pb; }
                else if (!hasA && !hasB)
                {
                    var person = Enumerable.Repeat(-1, OpenPose.BodyKeypoints).ToArray();
                    person[a] = ca.Id;
                    person[b] = cb.Id;
                    owner[ca.Id] = owner[cb.Id] = people.Count;
                    people.Add(person);
                }
            }
        }
        // Keypoints that joined nobody (a lone head, say) are dropped, as are people of fewer than three keypoints.
        var sx = (double)canvasWidth / width;
        var sy = (double)canvasHeight / height;
        var result = people.Where(p => p.Count(id => id >= 0) >= 3).Select(p => new PosePerson(p.Select(id =>
            id < 0 ? (0.0, 0.0, 0.0) : ((all[id].X + 0.5) * sx, (all[id].Y + 0.5) * sy, all[id].Score)).ToArray())).ToArray();
        return new PoseDocument(canvasWidth, canvasHeight, result);
    }

    private static bool IsPeak(float[] map, int offset, int width, int height, int x, int y, float v)
    {
        for (var dy = -1; dy <= 1; dy++)
            for (var dx = -1; dx <= 1; dx++)
            {
                int nx = x + dx, ny = y + dy;
                if ((dx == 0 && dy == 0) || nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
                var n = map[offset + ny * width + nx];
                // ties go to the first pixel in scan order so a flat top gives one peak
                if (n > v || (n == v && (dy < 0 || (dy == 0 && dx < 0)))) return false;
            }
        return true;
    }

    /// <summary>Mean alignment of the field with the segment A->B, or null when under 80% of the samples agree.</summary>
    private static double? FieldScore(float[] map, int xOffset, int yOffset, int width, int height, Candidate a, Candidate b)
    {
        double dx = b.X - a.X, dy = b.Y - a.Y;
        var length = Math.Sqrt(dx * dx + dy * dy);
        if (length < 1e-6) return null;
        (dx, dy) = (dx / length, dy / length);
        double sum = 0;
        var agree = 0;
        for (var s = 0; s < Samples; s++)
        {
            var t = s / (Samples - 1.0);
            var x = (int)Math.Round(a.X + t * (b.X - a.X));
            var y = (int)Math.Round(a.Y + t * (b.Y - a.Y));
            x = Math.Clamp(x, 0, width - 1);
            y = Math.Clamp(y, 0, height - 1);
            var dot = map[xOffset + y * width + x] * dx + map[yOffset + y * width + x] * dy;
            sum += dot;
            if (dot > 0.05) agree++;
        }
        // Long limbs across half the map are usually two people's parts: a mild penalty as OpenPose applies.
        var mean = sum / Samples + Math.Min(0, 0.5 * height / length - 1);
        return agree >= 0.8 * Samples && mean > 0 ? mean : null;
    }
}
