using ControlHost.Application.Errors;

namespace ControlHost.Application.Jobs;

/// <summary>One problem with one field of a job document: where (["generate", "units", "1", "weight"]) and what.</summary>
public sealed record JobFieldError(IReadOnlyList<string> Path, string Message)
{
    public override string ToString() => $"{string.Join(".", Path)}: {Message}";
}

/// <summary>Every problem a job document has, found in one pass: the caller fixes them all at once.</summary>
public sealed class JobValidationException(IReadOnlyList<JobFieldError> errors)
    : ServiceException(ErrorKind.BadInput, errors.Count > 0 ? string.Join(".", errors[0].Path) : null, string.Join("; ", errors), null)
{
    public IReadOnlyList<JobFieldError> Errors { get; } = errors;
}

/// <summary>Collects field errors as a document is checked; <see cref="At"/> names a nested part.</summary>
public sealed class JobErrors
{
    private readonly List<JobFieldError> _errors;
    private readonly string[] _path;

    public JobErrors() : this([], []) { }

    private JobErrors(List<JobFieldError> errors, string[] path)
    {
        _errors = errors;
        _path = path;
    }

    public IReadOnlyList<JobFieldError> All => _errors;

    public JobErrors At(params string[] more) => new(_errors, [.. _path, .. more]);

    public void Add(string field, string message) => _errors.Add(new JobFieldError([.. _path, field], message));

    /// <summary>Adds an error when the value is given and outside min..max.</summary>
    public void Range(string field, double? value, double min, double max, string? why = null)
    {
        if (value is not { } v) return;
        if (!double.IsFinite(v) || v < min || v > max) Add(field, $"{v.ToString(System.Globalization.CultureInfo.InvariantCulture)} must be {min.ToString(System.Globalization.CultureInfo.InvariantCulture)}..{max.ToString(System.Globalization.CultureInfo.InvariantCulture)}{(why is null ? "" : $" ({why})")}");
    }

    public void ThrowIfAny()
    {
        if (_errors.Count > 0) throw new JobValidationException(_errors.ToList());
    }
}
