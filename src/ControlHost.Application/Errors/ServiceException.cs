namespace ControlHost.Application.Errors;

/// <summary>What kind of failure a request met; adapters map it (CLI exit code, HTTP status).</summary>
public enum ErrorKind
{
    /// <summary>The request itself is wrong (a value out of range, an undecodable image): CLI exit 2, HTTP 422.</summary>
    BadInput,
    /// <summary>A named model, module, sampler or plugin does not exist; the message lists what does: exit 2, HTTP 422.</summary>
    NotFound,
    /// <summary>Something failed that the request could not have prevented (ONNX Runtime, a bug): exit 1, HTTP 500, logged.</summary>
    Internal,
}

/// <summary>A failure of the application layer, typed so that each adapter reports it the same way.</summary>
public abstract class ServiceException(ErrorKind kind, string? field, string message, Exception? inner)
    : Exception(message, inner)
{
    public ErrorKind Kind { get; } = kind;

    /// <summary>The request field at fault, in A1111's names ("steps", "units[2].image"), when one is.</summary>
    public string? Field { get; } = field;
}

/// <summary>The request is wrong; the message names the field or unit and what to do.</summary>
public sealed class BadInputException(string? field, string message, Exception? inner = null)
    : ServiceException(ErrorKind.BadInput, field, message, inner);

/// <summary>A named thing does not exist; the message lists what does.</summary>
public sealed class NotFoundException : ServiceException
{
    public NotFoundException(string? field, string what, string name, IEnumerable<string> known, string? hint = null, Exception? inner = null)
        : base(ErrorKind.NotFound, field, $"{what} '{name}' not found (known: {Known(known)}){(hint is null ? "" : "; " + hint)}", inner)
    {
        Name = name;
        KnownNames = known.ToArray();
    }

    public NotFoundException(string? field, string message, IEnumerable<string> known, Exception? inner = null)
        : base(ErrorKind.NotFound, field, message, inner)
    {
        Name = "";
        KnownNames = known.ToArray();
    }

    public string Name { get; }
    public IReadOnlyList<string> KnownNames { get; }

    private static string Known(IEnumerable<string> known)
    {
        var list = known.ToArray();
        return list.Length == 0 ? "none" : string.Join(", ", list);
    }
}

/// <summary>An internal fault: not the caller's doing. Adapters log it with its stack.</summary>
public sealed class InternalFaultException(string message, Exception? inner = null)
    : ServiceException(ErrorKind.Internal, null, message, inner);
