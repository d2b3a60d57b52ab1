namespace ControlHost.Checkpoints;

/// <summary>
/// The graph builders' version: part of every cache key, so that a change to how graphs are built invalidates the
/// folders built before it. Raise it whenever a builder's output changes.
/// </summary>
public static class BuilderVersion
{
    public const int Number = 2;
    public static string Text => $"controlhost-builder-{Number}";
}
