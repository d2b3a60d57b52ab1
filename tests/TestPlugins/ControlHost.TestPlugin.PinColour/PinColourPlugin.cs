using System.Globalization;
using ControlHost.Abstractions;

namespace ControlHost.TestPlugin.PinColour;

/// <summary>Registers pin_colour: a condition type that brings its own branch kind, a latent constraint.</summary>
public sealed class PinColourPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new PinColourCondition());
}

/// <summary>The unit's image is a region mask (white = pinned); option colour is #rrggbb.</summary>
public sealed class PinColourCondition : IBranchConditionType
{
    public string Id => "pin_colour";
    public IReadOnlyList<string> Aliases => [];
    public string Description => "pins the white part of the unit's image to a colour (a latent constraint)";
    public ConditionKind Kind => ConditionKind.Spatial;
    public IReadOnlyList<OptionSpec> Options => [new("colour", OptionKind.Text, "#ff0000", null, null, "the colour, #rrggbb")];
    public string ModelCondition => "pin_colour";

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) => ConditionHint.FromImage(input);

    public IControlBranch CreateBranch(BranchContext context)
    {
        var hex = context.Options.Get("colour").TrimStart('#');
        if (hex.Length != 6 || !int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var rgb))
            throw new ArgumentException($"colour '{context.Options.Get("colour")}' is not #rrggbb");
        var pixels = new byte[context.Width * context.Height * 3];
        for (var i = 0; i < pixels.Length; i += 3)
            (pixels[i], pixels[i + 1], pixels[i + 2]) = ((byte)(rgb >> 16), (byte)(rgb >> 8), (byte)rgb);
        var target = context.EncodeImage(new RgbImage(context.Width, context.Height, pixels));
        return new PinColourBranch(context.Name, target, LatentMask(context.Hint.Image!, context.Width, context.Height), context.Seed);
    }

    /// <summary>1 for a latent cell whose 8x8 pixels are mostly white.</summary>
    private static float[] LatentMask(RgbImage mask, int width, int height)
    {
        int h = height / 8, w = width / 8;
        var cells = new float[h * w];
        for (var y = 0; y < h; y++)
            for (var x = 0; x < w; x++)
                cells[y * w + x] = mask.Pixels[((y * 8 + 4) * mask.Width + x * 8 + 4) * 3] >= 128 ? 1f : 0f;
        return cells;
    }
}

/// <summary>After each step, the masked cells are set to the colour's latent noised to the current level.</summary>
public sealed class PinColourBranch : ILatentBranch
{
    private readonly FloatTensor _target;
    private readonly float[] _mask, _noise, _noised;

    public PinColourBranch(string name, FloatTensor target, float[] mask, uint seed)
    {
        Name = name;
        _target = target;
        _mask = mask;
        var random = new Random((int)seed);
        _noise = new float[target.Data.Length];
        for (var i = 0; i < _noise.Length; i++)
            _noise[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        _noised = new float[_noise.Length];
    }

    public string Name { get; }

    public void Constrain(LatentRequest request)
    {
        request.AddNoise(_target.Data, _noise, _noised);
        var latent = request.Latent.Data;
        for (var i = 0; i < latent.Length; i++)
        {
            var m = _mask[i % _mask.Length];
            latent[i] = m * _noised[i] + (1 - m) * latent[i];
        }
    }

    public void Dispose()
    {
    }
}
