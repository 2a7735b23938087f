using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Kiosk.Host.Mqtt.Commands;

/// <summary>
/// The members of one JSON object of a command, read with errors that name the field (<c>templates[1].vector</c>)
/// and say what was found: every failure is a <see cref="CommandException"/>.
/// </summary>
internal sealed partial class CommandFields
{
    private readonly Dictionary<string, JsonElement> _fields = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly string _prefix;

    /// <param name="prefix">how the object is named in messages, with its dot (<c>templates[0].</c>), or empty for the command</param>
    public CommandFields(JsonElement obj, string prefix)
    {
        _prefix = prefix;
        foreach (var p in obj.EnumerateObject())
        {
            string name;
            try
            {
                name = p.Name;
            }
            catch (InvalidOperationException)
            {
                throw new CommandException(CommandErrors.BadValue, $"{prefix}a field name is not valid Unicode text (a lone surrogate escape)");
            }
            // A repeated key is ambiguous (parsers keep the first or the last): refused, not guessed.
            if (!_fields.TryAdd(name, p.Value)) Duplicates.Add(name);
            else _order.Add(name);
        }
    }

    /// <summary>Names that appear more than once; <see cref="TryGet"/> does not see them.</summary>
    public List<string> Duplicates { get; } = [];

    public bool Has(string name) => _fields.ContainsKey(name);

    public bool TryGet(string name, out JsonElement value) =>
        _fields.TryGetValue(name, out value) && !Duplicates.Contains(name);

    public string Name(string field) => _prefix + field;

    public void RejectDuplicates()
    {
        if (Duplicates.Count > 0)
            throw new CommandException(CommandErrors.BadValue, $"{Name(Duplicates[0])} appears more than once; each field may be given once");
    }

    /// <summary>Refuses a field this object does not have: a misspelt optional field must not be ignored silently.</summary>
    public void RejectUnknown(IReadOnlySet<string> allowed, string what)
    {
        foreach (string name in _order)
            if (!allowed.Contains(name))
                throw new CommandException(CommandErrors.UnknownField,
                    $"{Name(Printable(name))} is not a field of {what}; its fields are {string.Join(", ", allowed.Order(StringComparer.Ordinal))}");
    }

    public JsonElement Required(string name, JsonValueKind kind, string expected)
    {
        if (!TryGet(name, out var value))
            throw new CommandException(CommandErrors.MissingField, $"{Name(name)} is missing; it must be {expected}");
        return Expect(value, Name(name), kind, expected);
    }

    /// <summary>The value when present and not null; <paramref name="present"/> tells absent from null.</summary>
    public JsonElement? Optional(string name, JsonValueKind kind, string expected, out bool present)
    {
        present = TryGet(name, out var value);
        if (!present || value.ValueKind == JsonValueKind.Null) return null;
        return Expect(value, Name(name), kind, expected);
    }

    public string RequiredString(string name) => Text(Required(name, JsonValueKind.String, "a string"), Name(name));

    public string? OptionalString(string name, out bool present) =>
        Optional(name, JsonValueKind.String, "a string or null", out present) is { } v ? Text(v, Name(name)) : null;

    /// <summary>True or false when present; null is refused (a flag has no "unset").</summary>
    public bool? OptionalBool(string name)
    {
        if (!TryGet(name, out var value)) return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new CommandException(CommandErrors.WrongType, $"{Name(name)} is {Describe(value)}; it must be true or false"),
        };
    }

    public static JsonElement Expect(JsonElement value, string field, JsonValueKind kind, string expected)
    {
        if (value.ValueKind != kind) throw new CommandException(CommandErrors.WrongType, $"{field} is {Describe(value)}; it must be {expected}");
        return value;
    }

    /// <summary>A string value; one whose escapes are not valid UTF-16 (a lone surrogate) is refused.</summary>
    public static string Text(JsonElement value, string field)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new CommandException(CommandErrors.BadValue, $"{field} is not valid Unicode text (a lone surrogate escape)");
        }
    }

    /// <summary>The text of a string value; false for another type or text that is not valid Unicode.</summary>
    public static bool TryText(JsonElement value, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? text)
    {
        text = null;
        if (value.ValueKind != JsonValueKind.String) return false;
        try
        {
            text = value.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    /// <summary>A caller's text shown back in a message: control characters escaped, at most 64 characters.</summary>
    public static string Printable(string text)
    {
        var sb = new System.Text.StringBuilder();
        foreach (char c in text.Length > 64 ? text[..64] : text)
            sb.Append(char.IsControl(c) ? $"\\u{(int)c:x4}" : c);
        if (text.Length > 64) sb.Append('…');
        return sb.ToString();
    }

    // ---- value rules shared by the commands ----------------------------------------------------------------------

    /// <summary>1-128 printable ASCII characters: safe in logs, in a reply, and for a caller to match.</summary>
    public static bool IsRequestId(string value) =>
        value.Length is >= 1 and <= CommandProcessor.MaxRequestIdLength && value.All(c => c is >= ' ' and <= '~');

    /// <summary>Why <paramref name="topic"/> cannot take a reply, or null: a topic name (no wildcards), not a system topic, not too long.</summary>
    public static string? CheckReplyTopic(string topic, string commandTopic)
    {
        if (topic.Length == 0) return "it is empty";
        if (topic.Length > CommandProcessor.MaxReplyTopicLength) return $"it is {topic.Length} characters long; at most {CommandProcessor.MaxReplyTopicLength}";
        if (topic.Contains('+') || topic.Contains('#')) return "it has a wildcard ('+' or '#'); a reply goes to one topic name";
        if (topic.Any(char.IsControl)) return "it has a control character";
        if (topic.StartsWith('$')) return "it is a broker system topic ($...)";
        if (topic == commandTopic) return "it is this kiosk's command topic (the reply would be read as a command)";
        return null;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex Iso8601WithOffset();

    /// <summary>ISO 8601 date and time with an explicit offset (<c>Z</c> or <c>+01:00</c>): a time without one means different instants on different machines.</summary>
    public static DateTimeOffset? ParseInstant(string text) =>
        Iso8601WithOffset().IsMatch(text)
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value) ? value : null;
}
