using ControlHost.Abstractions;

namespace MyCondition;

/// <summary>The entry point the host finds: registers the condition type.</summary>
public sealed class MyConditionPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry) => registry.AddConditionType(new MyConditionType());
}

/// <summary>
/// A posterised-edge hint as a starting point: pixels whose brightness crosses a level boundary against their right
/// or lower neighbour become white. Replace Preprocess with your own; keep it stateless (it may run on several
/// threads) and return a hint the size of the input.
/// </summary>
public sealed class MyConditionType : IConditionType
{
    public string Id => "CONDITION_ID";
    public IReadOnlyList<string> Aliases => [];
    public string Description => "MyCondition: white where the posterised brightness changes";
    public ConditionKind Kind => ConditionKind.Spatial;
    public string ModelCondition => "MODEL_CONDITION";

    public IReadOnlyList<OptionSpec> Options =>
    [
        new("levels", OptionKind.Integer, "4", 2, 64, "brightness levels of the posterised image"),
    ];

    public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation)
    {
        var levels = options.GetInt("levels");
        int w = input.Width, h = input.Height;
        var level = new int[w * h];
        for (var i = 0; i < level.Length; i++)
        {
            var p = input.Pixels;
            var grey = (299 * p[3 * i] + 587 * p[3 * i + 1] + 114 * p[3 * i + 2]) / 1000;
            level[i] = grey * levels / 256;
        }
        var hint = new byte[w * h * 3];
        for (var y = 0; y < h; y++)
        {
            cancellation.ThrowIfCancellationRequested();
            for (var x = 0; x < w; x++)
            {
                var i = y * w + x;
                var edge = (x + 1 < w && level[i + 1] != level[i]) || (y + 1 < h && level[i + w] != level[i]);
                if (edge) hint[3 * i] = hint[3 * i + 1] = hint[3 * i + 2] = 255;
            }
        }
        return ConditionHint.FromImage(new RgbImage(w, h, hint));
    }
}
