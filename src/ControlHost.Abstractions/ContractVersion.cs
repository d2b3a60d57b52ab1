namespace ControlHost.Abstractions;

/// <summary>The version of this contract. A host refuses plugins built for another major version.</summary>
public static class ContractVersion
{
    /// <summary>Incremented on any breaking change to the contract.</summary>
    public const int Major = 1;

    /// <summary>Incremented when members are added without breaking existing plugins (1.1: <see cref="IBranchConditionType"/>;
    /// 1.2: <see cref="ConditionHint.Json"/> and <see cref="ConditionHint.Note"/>; 1.3: a residual request carries the
    /// step's whole conditioning, <see cref="ResidualRequest.Family"/>, <see cref="ResidualRequest.PooledEmbeddings"/> and
    /// <see cref="ResidualRequest.ExtraInputs"/>).</summary>
    public const int Minor = 3;

    /// <summary>The version as text, e.g. "1.0".</summary>
    public static string Text => $"{Major}.{Minor}";
}
