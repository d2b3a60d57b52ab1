using ControlHost.Abstractions;

namespace ControlHost.TestPlugin;

/// <summary>Registers one type, then throws: the host must add neither.</summary>
public sealed class BadRegisterPlugin : IControlHostPlugin
{
    public void Register(IPluginRegistry registry)
    {
        registry.AddConditionType(new Half());
        throw new InvalidOperationException("registration exploded");
    }

    private sealed class Half : IConditionType
    {
        public string Id => "half-registered";
        public IReadOnlyList<string> Aliases => [];
        public string Description => "never visible";
        public ConditionKind Kind => ConditionKind.Spatial;
        public IReadOnlyList<OptionSpec> Options => [];
        public string ModelCondition => "canny";
        public ConditionHint Preprocess(RgbImage input, OptionValues options, CancellationToken cancellation) => ConditionHint.FromImage(input);
    }
}
