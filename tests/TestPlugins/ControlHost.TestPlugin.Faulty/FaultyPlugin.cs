using ControlHost.Abstractions;

namespace ControlHost.TestPlugin;

/// <summary>Condition types that misbehave on purpose: the host must survive each.</summary>
public sealed class FaultyPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new Faulty("faulty-throw", ConditionKind.Spatial, _ => throw new InvalidOperationException("boom")));
        registry.AddConditionType(new Faulty("faulty-hang", ConditionKind.Spatial, _ =>
        {
            Thread.Sleep(Timeout.Infinite);
            return null!;
        }));
        registry.AddConditionType(new Faulty("faulty-nan", ConditionKind.Global, _ => ConditionHint.FromVector([float.NaN, 1f])));
        registry.AddConditionType(new Faulty("faulty-short", ConditionKind.Global, _ => ConditionHint.FromVector([1f, 2f, 3f])) { Model = "colour" });
    }

    private sealed class Faulty(string id, ConditionKind kind, Func<RgbImage, ConditionHint> run) : IConditionType
    {
        public string Model { get; init; } = "canny";
        public string Id => id;
        public IReadOnlyList<string> Aliases => [];
        public string Description => "misbehaves on purpose";
        public ConditionKind Kind => kind;
        public IReadOnlyList<OptionSpec> Options => [];
        public string ModelCondition => Model;
        public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) => run(input);
    }
}
