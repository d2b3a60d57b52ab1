using System.Globalization;
using System.Text.Json;

namespace ControlHost.Server.Api;

/// <summary>One validation problem, in FastAPI's shape (what A1111 clients parse).</summary>
public sealed record FieldError(string[] Loc, string Msg, string Type);

/// <summary>A request body that does not validate: HTTP 422 with every problem found.</summary>
public sealed class ValidationException(IReadOnlyList<FieldError> errors) : Exception(string.Join("; ", errors.Select(e => $"{string.Join(".", e.Loc)}: {e.Msg}")))
{
    public IReadOnlyList<FieldError> Errors { get; } = errors;

    public static ValidationException One(string field, string message, string type = "value_error") => new([new FieldError(["body", field], message, type)]);
}

/// <summary>
/// Reads a JSON object leniently, as A1111's pydantic models do: numbers given as strings or booleans given as 0/1
/// are accepted, a wrong type is collected as a FieldError (all of them are reported at once), and keys never read
/// are named afterwards so the response can warn about them.
/// </summary>
internal sealed class Body
{
    private readonly JsonElement _root;
    private readonly string[] _path;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public Body(JsonElement root, List<FieldError> errors, params string[] path)
    {
        _root = root;
        _path = path.Length == 0 ? ["body"] : path;
        Errors = errors;
        if (root.ValueKind != JsonValueKind.Object)
            errors.Add(new FieldError(_path, "value is not a valid dict", "type_error.dict"));
    }

    public List<FieldError> Errors { get; }

    public JsonElement Root => _root;

    public string[] LocOf(string key) => [.. _path, key];

    public bool Has(string key) => TryGet(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public bool TryGet(string key, out JsonElement value)
    {
        _read.Add(key);
        value = default;
        return _root.ValueKind == JsonValueKind.Object && _root.TryGetProperty(key, out value);
    }

    public string? Str(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False) return v.GetRawText();
        Errors.Add(new FieldError(LocOf(key), "str type expected", "type_error.str"));
        return null;
    }

    /// <summary>A prompt: a string of at most <paramref name="maxChars"/> characters (the limit named in the error).</summary>
    public string? Prompt(string key, int maxChars)
    {
        var text = Str(key);
        if (text is not null && text.Length > maxChars)
        {
            Errors.Add(new FieldError(LocOf(key), $"{text.Length} characters; the limit is {maxChars} (the server's --max-prompt-chars)", "value_error.any_str.max_length"));
            return null;
        }
        return text;
    }

    /// <param name="limit">The server limit that sets <paramref name="max"/>, named in the error (--limit NAME=...).</param>
    public long? Long(string key, long min, long max, string? limit = null)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        long result;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out result)) { }
        else if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && d == Math.Floor(d) && Math.Abs(d) < 9e15) result = (long)d;
        else if (v.ValueKind == JsonValueKind.String && long.TryParse(v.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out result)) { }
        else
        {
            Errors.Add(new FieldError(LocOf(key), "value is not a valid integer", "type_error.integer"));
            return null;
        }
        if (result < min || result > max)
        {
            Errors.Add(new FieldError(LocOf(key), $"{result} is not between {min} and {max}{(limit is null ? "" : $" (the server's --limit {limit})")}", "value_error.number.not_in_range"));
            return null;
        }
        return result;
    }

    public int? Int(string key, int min, int max, string? limit = null) => (int?)Long(key, min, max, limit);

    public double? Num(string key, double min, double max)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        double result;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out result)) { }
        else if (v.ValueKind == JsonValueKind.String && double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out result)) { }
        else
        {
            Errors.Add(new FieldError(LocOf(key), "value is not a valid float", "type_error.float"));
            return null;
        }
        if (!double.IsFinite(result) || result < min || result > max)
        {
            Errors.Add(new FieldError(LocOf(key), string.Create(CultureInfo.InvariantCulture, $"{result} is not between {min} and {max}"), "value_error.number.not_in_range"));
            return null;
        }
        return result;
    }

    /// <summary>true/false, or 0/1 (clients send both for inpaint_full_res).</summary>
    public bool? Bool(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        switch (v.ValueKind)
        {
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.Number when v.TryGetInt32(out var n) && n is 0 or 1: return n == 1;
            case JsonValueKind.String when v.GetString() is "true" or "false" or "0" or "1": return v.GetString() is "true" or "1";
        }
        Errors.Add(new FieldError(LocOf(key), "value could not be parsed to a boolean", "type_error.bool"));
        return null;
    }

    public List<JsonElement>? Array(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind == JsonValueKind.Array) return [.. v.EnumerateArray()];
        Errors.Add(new FieldError(LocOf(key), "value is not a valid list", "type_error.list"));
        return null;
    }

    public Body? Object(string key)
    {
        if (!TryGet(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return new Body(v, Errors, LocOf(key));
    }

    /// <summary>The keys present that nothing read.</summary>
    public IEnumerable<string> Unread() => _root.ValueKind == JsonValueKind.Object
        ? _root.EnumerateObject().Select(p => p.Name).Where(n => !_read.Contains(n))
        : [];

    public void ThrowIfInvalid()
    {
        if (Errors.Count > 0) throw new ValidationException(Errors);
    }
}
