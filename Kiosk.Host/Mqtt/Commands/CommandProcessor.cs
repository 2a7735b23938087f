using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Kiosk.Hardware.Door;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Vision.Imaging;
using FaceIndex = Kiosk.Vision.Matching.FaceIndex;
using IndexMatch = Kiosk.Vision.Matching.Match;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Kiosk.Host.Mqtt.Commands.CommandErrors;

namespace Kiosk.Host.Mqtt.Commands;

/// <summary>A reply to publish: where, the JSON bytes, and for the caller's bookkeeping the request, command and error code.</summary>
public sealed record CommandReply(string Topic, byte[] Payload, string? RequestId, string? Command, string? ErrorCode)
{
    public bool Ok => ErrorCode is null;
}

/// <summary>
/// Remote commands (docs/mqtt/commands.md), without a broker: the bytes of a message in, the reply and its topic out.
/// Checks size, JSON, signature, freshness and every field before anything is touched; runs the gallery's work
/// holding <see cref="GalleryService.SyncRoot"/> (the camera loop uses the same pipeline per frame); answers a
/// request id seen recently with its first reply instead of doing the work twice.
/// </summary>
/// <remarks>
/// Thread safety: <see cref="Process"/> may be called from any thread; calls run one at a time. A command that runs
/// the models holds the gallery (and so the camera loop) for as long as its images take.
/// </remarks>
public sealed partial class CommandProcessor : IDisposable
{
    public const string CommandSchema = "kiosk-command/1";
    public const string ReplySchema = "kiosk-reply/1";
    public const int MaxRequestIdLength = 128;
    public const int MaxReplyTopicLength = 256;
    /// <summary>A command nests four levels at most (envelope, command, templates, vector); deeper JSON is refused as it is read.</summary>
    public const int MaxJsonDepth = 16;
    internal const int ReplyCacheCapacity = 4096;
    private const float DefaultTemplateQuality = 0.5f;
    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    private static readonly JsonDocumentOptions JsonOptions = new()
    {
        MaxDepth = MaxJsonDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    private static readonly HashSet<string> HeaderFields = ["schema", "command", "request_id", "issued_utc", "reply_to"];
    private static readonly HashSet<string> PersonFields = ["name", "external_id", "groups", "valid_from", "valid_until", "enabled"];
    private static readonly IReadOnlyDictionary<string, HashSet<string>> Allowed = new Dictionary<string, HashSet<string>>
    {
        ["enroll"] = [.. HeaderFields, .. PersonFields, "person_id", "images", "templates"],
        ["update"] = [.. HeaderFields, .. PersonFields, "person_id", "images", "templates"],
        ["delete"] = [.. HeaderFields, "person_id", "external_id"],
        ["get-person"] = [.. HeaderFields, "person_id", "external_id"],
        ["open-door"] = [.. HeaderFields, "seconds"],
    };
    private static readonly HashSet<string> TemplateFields = ["model", "model_hash", "vector", "quality"];

    private readonly GalleryService _gallery;
    private readonly KioskTopics _topics;
    private readonly CommandOptions _options;
    private readonly EventStore _events;
    private readonly DoorController? _door;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CommandKey? _key;
    private readonly ReplyCache _replies;
    private readonly Lock _gate = new();
    private readonly LogThrottle _unauthenticated = new(WarningInterval);
    private readonly LogThrottle _malformed = new(WarningInterval);

    /// <exception cref="SettingsException">invalid options, or the key file is unusable (the message names the key)</exception>
    public CommandProcessor(GalleryService gallery, KioskTopics topics, CommandOptions options, EventStore events, DoorController? door = null,
        ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(gallery);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(events);
        options.Validate();
        _gallery = gallery;
        _topics = topics;
        _options = options;
        _events = events;
        _door = door;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _key = options.CommandKeyFile is { } file ? CommandKey.Load(file, $"{CommandOptions.Section}:CommandKeyFile") : null;
        _replies = new ReplyCache(ReplyCacheCapacity, options.CommandMaxAge + CommandOptions.MaxClockSkew);
        if (options.RequireSignedCommands && _key is null) Log.CommandsWithoutKey(_logger);
        if (!options.RequireSignedCommands)
            Log.CommandsUnsigned(_logger, topics.Commands, options.AllowOpenDoor && door is not null ? " and open the door" : "");
    }

    public CommandOptions Options => _options;

    /// <summary>Whether a signing key is configured (signed commands can be checked).</summary>
    public bool HasKey => _key is not null;

    /// <summary>What is known of the message being handled, filled in as it is read; the reply is built from it.</summary>
    private sealed class Call
    {
        public string? RequestId, ReplyTo, Command, PersonUid;
        public bool Signed, Authentic;

        /// <summary>What the gallery keeps as a template's source: the request, for `people show` to tell where it came from.</summary>
        public string Stored(string local) => $"mqtt {RequestId} {local}";

        /// <summary>The reverse, for the reply: the caller knows which request it sent.</summary>
        public string Local(string text) => text.Replace($"mqtt {RequestId} ", "", StringComparison.Ordinal);
    }

    /// <summary>Handles one message and returns the reply to publish; never throws for anything in the message.</summary>
    /// <param name="length">the size of the message as sent, when <paramref name="payload"/> holds only its head</param>
    /// <param name="retained">the broker delivered it as a retained message (stored earlier, not sent now)</param>
    public CommandReply Process(ReadOnlyMemory<byte> payload, int? length = null, bool retained = false)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            _replies.Expire(now);
            var call = new Call();
            try
            {
                return Handle(payload, length ?? payload.Length, retained, now, call);
            }
            catch (CommandException e)
            {
                return Refuse(call, e, now);
            }
            catch (Exception e)
            {
                // A defect or the system failing (disk, GPIO): the caller learns nothing of our internals.
                Log.CommandFailed(_logger, call.Command ?? "?", call.RequestId, e);
                return Reply(call, Internal, "the kiosk failed to carry out the command; its log has the details");
            }
        }
    }

    private CommandReply Handle(ReadOnlyMemory<byte> payload, int length, bool retained, DateTimeOffset now, Call call)
    {
        if (length > _options.MaxCommandBytes || length > payload.Length)
        {
            TakeHead(payload.Span[..Math.Min(payload.Length, MqttMessage.TruncatedHeadBytes)], call);
            throw new CommandException(PayloadTooLarge,
                $"the message is {length} bytes; at most {_options.MaxCommandBytes} are accepted (Mqtt:MaxCommandBytes)");
        }
        using var outer = Parse(payload, call, "the message");
        var fields = new CommandFields(outer.RootElement, "");
        ReadOnlyMemory<byte> command = payload;
        JsonDocument? inner = null;
        try
        {
            if (fields.Has("body") || fields.Has("signature"))
            {
                var body = OpenEnvelope(fields, call);
                command = body;
                inner = Parse(body, call, "body");
                fields = new CommandFields(inner.RootElement, "");
                call.Signed = true;
            }
            ReadHeaderLeniently(fields, call);
            if (!call.Signed && _options.RequireSignedCommands)
                throw new CommandException(SignatureRequired, _key is null
                    ? "this kiosk has no signing key (Mqtt:CommandKeyFile) and accepts only signed commands: it refuses every command"
                    : """this kiosk accepts only signed commands: send {"body": "<the command as a string>", "signature": "<base64 HMAC-SHA256>"}""");
            if (retained)
                throw new CommandException(BadValue, "the message is retained; commands must be published without the retain flag (a retained command would run again at every reconnect)");
            CheckHeader(fields, call, now);
            call.Authentic = true;

            byte[] digest = SHA256.HashData(command.Span);
            string requestId = call.RequestId!;
            if (_replies.TryGet(requestId, out var earlier))
            {
                if (!earlier.Digest.AsSpan().SequenceEqual(digest))
                    throw new CommandException(Conflict, $"request_id '{requestId}' was used within the last {_options.CommandMaxAge} for a different command; " +
                        "give every command its own request_id");
                Log.CommandRepeated(_logger, requestId);
                return earlier.Reply;
            }
            CommandReply reply;
            try
            {
                reply = Execute(fields, call, now);
            }
            catch (CommandException e)
            {
                reply = Refuse(call, e, now);
            }
            // Refusals are remembered too: the repeat of a refused command is refused the same way, without new work.
            _replies.Add(requestId, digest, reply, now);
            return reply;
        }
        finally
        {
            inner?.Dispose();
        }
    }

    private JsonDocument Parse(ReadOnlyMemory<byte> json, Call call, string what)
    {
        JsonDocument document;
        // JsonDocument checks the UTF-8 of a string only when it is read: checked here, once, for the whole text.
        if (!System.Text.Unicode.Utf8.IsValid(json.Span))
        {
            TakeHead(json.Span[..Math.Min(json.Length, MqttMessage.TruncatedHeadBytes)], call);
            throw new CommandException(BadJson, $"{what} is not valid UTF-8 text, so not JSON");
        }
        try
        {
            document = JsonDocument.Parse(json, JsonOptions);
        }
        catch (JsonException e)
        {
            TakeHead(json.Span[..Math.Min(json.Length, MqttMessage.TruncatedHeadBytes)], call);
            throw new CommandException(BadJson, $"{what} is not valid JSON: {e.Message}");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            string kind = CommandFields.Describe(document.RootElement);
            document.Dispose();
            throw new CommandException(NotAnObject, $"{what} is {kind}; a command is a JSON object");
        }
        return document;
    }

    /// <summary>The request id and reply topic from a message's first bytes, when they are well-formed.</summary>
    private void TakeHead(ReadOnlySpan<byte> head, Call call)
    {
        var (id, replyTo) = HeadScanner.Scan(head);
        if (call.RequestId is null && id is not null && CommandFields.IsRequestId(id)) call.RequestId = id;
        if (call.ReplyTo is null && replyTo is not null && CommandFields.CheckReplyTopic(replyTo, _topics.Commands) is null) call.ReplyTo = replyTo;
    }

    /// <summary>The signed command's exact bytes, once its signature is checked.</summary>
    private ReadOnlyMemory<byte> OpenEnvelope(CommandFields envelope, Call call)
    {
        envelope.RejectDuplicates();
        envelope.RejectUnknown(new HashSet<string> { "body", "signature" }, "a signed command");
        var bodyElement = envelope.Required("body", JsonValueKind.String, "the command as a JSON string");
        var signatureElement = envelope.Required("signature", JsonValueKind.String, "the base64 HMAC-SHA256 of body");
        // The bytes signed are the body's own, unescaped from the JSON string: no canonical form needed.
        ReadOnlyMemory<byte> body;
        try
        {
            var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(bodyElement);
            var reader = new Utf8JsonReader(raw);
            reader.Read();
            byte[] unescaped = new byte[reader.ValueSpan.Length];
            body = unescaped.AsMemory(0, reader.CopyString(unescaped));
        }
        catch (InvalidOperationException)
        {
            throw new CommandException(BadValue, "body is not valid Unicode text (a lone surrogate escape)");
        }
        TakeHead(body.Span[..Math.Min(body.Length, MqttMessage.TruncatedHeadBytes)], call);
        if (_key is null)
            throw new CommandException(_options.RequireSignedCommands ? SignatureRequired : BadSignature,
                "this kiosk has no signing key (Mqtt:CommandKeyFile) to check the signature with");
        if (!signatureElement.TryGetBytesFromBase64(out byte[]? given) || given.Length != CommandKey.SignatureBytes)
            throw new CommandException(BadSignature, $"signature must be the base64 of {CommandKey.SignatureBytes} bytes (HMAC-SHA256)");
        if (!_key.Verify(body.Span, given))
            throw new CommandException(BadSignature, "signature does not match body (wrong key, or body changed after signing)");
        return body;
    }

    /// <summary>The request id and reply topic when they are usable, before anything else is checked: every refusal from here on carries them.</summary>
    private void ReadHeaderLeniently(CommandFields fields, Call call)
    {
        call.RequestId = fields.TryGet("request_id", out var id) && CommandFields.TryText(id, out string? text) && CommandFields.IsRequestId(text)
            ? text : null;
        // An unusable reply_to sends the reply (saying so) to the default topic.
        call.ReplyTo = fields.TryGet("reply_to", out var to) && CommandFields.TryText(to, out string? topic)
            && CommandFields.CheckReplyTopic(topic, _topics.Commands) is null ? topic : null;
    }

    private void CheckHeader(CommandFields fields, Call call, DateTimeOffset now)
    {
        fields.RejectDuplicates();
        string schema = fields.RequiredString("schema");
        if (schema != CommandSchema)
            throw new CommandException(UnsupportedSchema, $"schema '{CommandFields.Printable(schema)}' is not supported; this kiosk reads {CommandSchema}");
        string id = fields.RequiredString("request_id");
        if (!CommandFields.IsRequestId(id))
            throw new CommandException(BadValue, $"request_id must be 1 to {MaxRequestIdLength} printable ASCII characters (it has {id.Length} characters)");
        string? replyTo = fields.OptionalString("reply_to", out bool hasReplyTo);
        if (hasReplyTo && replyTo is null) throw new CommandException(WrongType, "reply_to is null; leave it out for the default reply topic");
        if (replyTo is not null && CommandFields.CheckReplyTopic(replyTo, _topics.Commands) is { } why)
            throw new CommandException(BadValue, $"reply_to '{CommandFields.Printable(replyTo)}' cannot take the reply: {why}");
        string command = fields.RequiredString("command");
        if (!Allowed.ContainsKey(command))
            throw new CommandException(UnknownCommand, $"command '{CommandFields.Printable(command)}' is unknown; it must be one of {string.Join(", ", Allowed.Keys)}");
        call.Command = command;
        string issuedText = fields.RequiredString("issued_utc");
        if (CommandFields.ParseInstant(issuedText) is not { } issued || issued.Offset != TimeSpan.Zero)
            throw new CommandException(BadValue, $"issued_utc '{CommandFields.Printable(issuedText)}' is not an ISO 8601 UTC time such as 2026-11-02T08:15:00Z");
        var age = now - issued;
        if (age > _options.CommandMaxAge)
            throw new CommandException(Stale, $"issued_utc {issuedText} is {Whole(age)} old; commands older than {_options.CommandMaxAge} (Mqtt:CommandMaxAge) are refused");
        if (-age > CommandOptions.MaxClockSkew)
            throw new CommandException(Stale, $"issued_utc {issuedText} is {Whole(-age)} in the future; at most {CommandOptions.MaxClockSkew} is accepted: check the clocks");
    }

    private static TimeSpan Whole(TimeSpan t) => TimeSpan.FromSeconds(Math.Floor(t.TotalSeconds));

    // ---- the commands ----------------------------------------------------------------------------------------------

    private CommandReply Execute(CommandFields fields, Call call, DateTimeOffset now)
    {
        string command = call.Command!;
        fields.RejectUnknown(Allowed[command], $"command {command}");
        return command switch
        {
            "enroll" => Enroll(fields, call),
            "update" => Update(fields, call),
            "delete" => Delete(fields, call),
            "get-person" => GetPerson(fields, call),
            "open-door" => OpenDoor(fields, call, now),
            _ => throw new InvalidOperationException($"command {command} has no handler"),
        };
    }

    private CommandReply Enroll(CommandFields f, Call call)
    {
        var draft = ReadPerson(f, existing: null);
        string? uid = f.OptionalString("person_id", out _) is { } given ? ParseUid(given, "person_id") : null;
        var images = ReadImages(f);
        var templates = ReadTemplates(f, call);
        if (images.Count + templates.Count == 0)
            throw new CommandException(MissingField, "enroll needs images (base64 photos) or templates, or both");
        lock (_gallery.SyncRoot)
        {
            _gallery.RefreshIfChanged();
            var store = _gallery.Store;
            if (uid is not null && store.FindByUid(uid) is not null)
                throw new CommandException(Conflict, $"person_id {uid} is already enrolled; use update to change them");
            if (draft.ExternalId is { } ext && store.FindByExternalId(ext) is { } other)
                throw new CommandException(Conflict, $"external_id '{CommandFields.Printable(ext)}' is already person {other.Uid}'s");
            CheckNotEnrolled(templates, self: null, call);
            var result = _gallery.Enroll(draft, Decode(images, call), existingPersonId: null, uid, templates);
            var person = result.Person ?? throw NothingAccepted(result, call);
            call.PersonUid = person.Uid;
            Done(call, person);
            return Ok(call, w =>
            {
                WritePerson(w, person);
                WriteVerdicts(w, result, call);
            });
        }
    }

    private CommandReply Update(CommandFields f, Call call)
    {
        var images = ReadImages(f);
        var templates = ReadTemplates(f, call);
        lock (_gallery.SyncRoot)
        {
            _gallery.RefreshIfChanged();
            // Addressed by person_id, external_id is a field to change; without it, external_id names the person.
            bool byUid = f.Has("person_id");
            var person = FindPerson(f, call);
            bool changesFields = PersonFields.Any(n => f.Has(n) && (byUid || n != "external_id"));
            if (!changesFields && images.Count + templates.Count == 0)
                throw new CommandException(MissingField, $"update changes nothing: give at least one of {string.Join(", ", PersonFields)}, images, templates");
            var draft = changesFields ? ReadPerson(f, person, externalIdIsAddress: !byUid) : null;
            if (draft?.ExternalId is { } ext && ext != person.ExternalId && _gallery.Store.FindByExternalId(ext) is { } other && other.Id != person.Id)
                throw new CommandException(Conflict, $"external_id '{CommandFields.Printable(ext)}' is already person {other.Uid}'s");
            CheckNotEnrolled(templates, self: person.Id, call);
            EnrollmentResult? added = null;
            // Photos first: if none passes, the command fails before any field has changed.
            if (images.Count + templates.Count > 0)
            {
                added = _gallery.Enroll(new PersonDraft(person.Name), Decode(images, call), person.Id, null, templates);
                if (added.Person is null) throw NothingAccepted(added, call);
            }
            if (draft is not null) person = _gallery.Update(person.Id, draft);
            else person = _gallery.Store.GetPerson(person.Id) ?? person;
            Done(call, person);
            var final = person;
            return Ok(call, w =>
            {
                WritePerson(w, final);
                if (added is not null) WriteVerdicts(w, added, call);
            });
        }
    }

    private CommandReply Delete(CommandFields f, Call call)
    {
        lock (_gallery.SyncRoot)
        {
            _gallery.RefreshIfChanged();
            var person = FindPerson(f, call);
            if (!_gallery.Remove(person.Id)) throw UnknownPersonError(f);
            Done(call, person);
            return Ok(call, w =>
            {
                w.WriteString("person_id", person.Uid);
                w.WriteBoolean("deleted", true);
            });
        }
    }

    private CommandReply GetPerson(CommandFields f, Call call)
    {
        // Reads only: the store is thread-safe, the camera loop need not wait.
        var person = FindPerson(f, call);
        Done(call, person);
        return Ok(call, w => WritePerson(w, person));
    }

    private CommandReply OpenDoor(CommandFields f, Call call, DateTimeOffset now)
    {
        if (!_options.AllowOpenDoor)
            throw new CommandException(DoorDisabled, "open-door is disabled on this kiosk (Mqtt:AllowOpenDoor is false)");
        if (_door is null)
            throw new CommandException(DoorDisabled, "this kiosk has no door to open");
        TimeSpan? pulse = null;
        if (f.Optional("seconds", JsonValueKind.Number, "a number of seconds", out _) is { } s)
        {
            // TryGetDouble is false for a number beyond double (1e999): as out of range as any other.
            double seconds = s.TryGetDouble(out double d) ? d : double.PositiveInfinity;
            if (!(seconds > 0) || seconds > DoorOptions.MaxUnlockPulse.TotalSeconds)
                throw new CommandException(BadValue, $"seconds is {seconds.ToString(CultureInfo.InvariantCulture)}; it must be more than 0 and at most {DoorOptions.MaxUnlockPulse.TotalSeconds} (the door's limit)");
            pulse = TimeSpan.FromSeconds(seconds);
        }
        var length = pulse ?? _door.Options.UnlockPulse;
        // The event first: what the door does is on record before it does it, as for a face.
        _events.Append(KioskEvent.Now(EventKind.RemoteOpen, $"opened by MQTT command {call.RequestId} for {length.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s"));
        _door.Unlock(length, $"remote command {call.RequestId}");
        Log.CommandOpenedDoor(_logger, call.RequestId!, length);
        return Ok(call, w =>
        {
            w.WriteNumber("seconds", length.TotalSeconds);
            w.WriteString("until_utc", Utc(now + length));
        });
    }

    // ---- reading fields --------------------------------------------------------------------------------------------

    /// <summary>The person's fields: for enroll all of them (name required), for update the given ones over <paramref name="existing"/>'s.</summary>
    private static PersonDraft ReadPerson(CommandFields f, Person? existing, bool externalIdIsAddress = false)
    {
        string name;
        if (existing is null || f.Has("name"))
        {
            if (f.TryGet("name", out var n) && n.ValueKind == JsonValueKind.Null)
                throw new CommandException(WrongType, "name is null; a person always has a name");
            name = f.RequiredString("name");
        }
        else name = existing.Name;
        string? externalId = f.OptionalString("external_id", out bool hasExternal);
        if (existing is not null && (!hasExternal || externalIdIsAddress)) externalId = existing.ExternalId;
        IReadOnlyList<string>? groups = existing?.Groups;
        if (f.Optional("groups", JsonValueKind.Array, "an array of strings or null", out bool hasGroups) is { } g)
        {
            var list = new List<string>();
            int i = 0;
            foreach (var item in g.EnumerateArray())
                list.Add(CommandFields.Text(CommandFields.Expect(item, $"groups[{i++}]", JsonValueKind.String, "a string"), $"groups[{i - 1}]"));
            groups = list;
        }
        else if (hasGroups) groups = null;
        DateTimeOffset? from = ReadInstant(f, "valid_from", existing?.ValidFrom);
        DateTimeOffset? until = ReadInstant(f, "valid_until", existing?.ValidUntil);
        bool enabled = f.OptionalBool("enabled") ?? existing?.Enabled ?? true;
        var draft = new PersonDraft(name, externalId, groups, from, until, enabled);
        try
        {
            GalleryValidation.Normalize(draft, "command");
        }
        catch (ArgumentException e)
        {
            // The gallery's own rules (length, control characters, order of dates), in the command's field names.
            string message = e.Message.Split(" (Parameter")[0];
            foreach (var (from2, to) in new[] { ("ExternalId", "external_id"), ("ValidUntil", "valid_until"), ("ValidFrom", "valid_from"), ("Name", "name"), ("Groups", "groups") })
                message = message.Replace(from2, to, StringComparison.Ordinal);
            throw new CommandException(BadValue, message);
        }
        return draft;
    }

    private static DateTimeOffset? ReadInstant(CommandFields f, string name, DateTimeOffset? existing)
    {
        string? text = f.OptionalString(name, out bool present);
        if (!present) return existing;
        if (text is null) return null;
        return CommandFields.ParseInstant(text) is { } t ? t
            : throw new CommandException(BadValue, $"{name} '{CommandFields.Printable(text)}' is not an ISO 8601 time with an offset, such as 2026-11-02T08:00:00Z or 2026-11-02T09:00:00+01:00");
    }

    private static string ParseUid(string text, string field) =>
        Guid.TryParseExact(text, "D", out var g) && g != Guid.Empty ? g.ToString("D")
            : throw new CommandException(BadValue, $"{field} '{CommandFields.Printable(text)}' is not a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e");

    /// <summary>The person named by person_id or else external_id.</summary>
    private Person FindPerson(CommandFields f, Call call)
    {
        Person? person;
        if (f.OptionalString("person_id", out bool hasUid) is { } uidText)
            person = _gallery.Store.FindByUid(call.PersonUid = ParseUid(uidText, "person_id"));
        else if (hasUid)
            throw new CommandException(WrongType, "person_id is null; it must be the person's UUID");
        else if (f.OptionalString("external_id", out _) is { } ext)
            person = _gallery.Store.FindByExternalId(ext);
        else
            throw new CommandException(MissingField, $"{call.Command} needs person_id (the person's UUID) or external_id");
        return person ?? throw UnknownPersonError(f);
    }

    private static CommandException UnknownPersonError(CommandFields f) =>
        f.TryGet("person_id", out var uid) && uid.ValueKind == JsonValueKind.String
            ? new CommandException(UnknownPerson, $"no person has person_id {CommandFields.Printable(CommandFields.Text(uid, "person_id"))}")
            : new CommandException(UnknownPerson, $"no person has external_id '{CommandFields.Printable(f.TryGet("external_id", out var e) ? CommandFields.Text(e, "external_id") : "")}'");

    private List<(string Source, byte[] Data)> ReadImages(CommandFields f)
    {
        var images = new List<(string, byte[])>();
        if (f.Optional("images", JsonValueKind.Array, "an array of base64 strings", out bool present) is not { } array)
            return present ? throw new CommandException(WrongType, "images is null; leave it out or give an array of base64 strings") : images;
        int count = array.GetArrayLength();
        if (count > _options.MaxImagesPerCommand)
            throw new CommandException(BadValue, $"images has {count} entries; at most {_options.MaxImagesPerCommand} (Mqtt:MaxImagesPerCommand)");
        int maxBase64 = (_options.MaxImageBytes + 2) / 3 * 4;
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            string source = $"images[{i++}]";
            CommandFields.Expect(item, source, JsonValueKind.String, "a base64 string (JPEG, PNG or WebP)");
            int encoded = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(item).Length - 2;
            if (encoded > maxBase64 + 64) // a little slack for escaped '/' ("\/") before decoding tells exactly
                throw new CommandException(ImageTooLarge, $"{source} is {encoded} characters of base64; at most {_options.MaxImageBytes} bytes (Mqtt:MaxImageBytes) are accepted");
            if (!item.TryGetBytesFromBase64(out byte[]? data))
                throw new CommandException(BadValue, $"{source} is not valid base64 (plain standard base64 without line breaks or a data: prefix)");
            if (data.Length > _options.MaxImageBytes)
                throw new CommandException(ImageTooLarge, $"{source} is {data.Length} bytes; at most {_options.MaxImageBytes} (Mqtt:MaxImageBytes) are accepted");
            if (data.Length == 0) throw new CommandException(BadValue, $"{source} is empty");
            images.Add((source, data));
        }
        return images;
    }

    /// <summary>Decodes one photo at a time as the gallery asks for it: ten large photos are never all in memory at once.</summary>
    private static IEnumerable<EnrollmentPhoto> Decode(List<(string Source, byte[] Data)> images, Call call)
    {
        foreach (var (source, data) in images)
        {
            BgrImage image;
            try
            {
                image = ImageDecoder.Decode(data, source);
            }
            catch (ImageDecodeException e) when (e.ExceedsLimits)
            {
                throw new CommandException(ImageTooLarge, $"{source}: {e.Reason}");
            }
            catch (ImageDecodeException e)
            {
                throw new CommandException(ImageUndecodable, $"{source}: {e.Reason}");
            }
            yield return new EnrollmentPhoto(call.Stored(source), image);
        }
    }

    private List<TemplateDraft> ReadTemplates(CommandFields f, Call call)
    {
        var templates = new List<TemplateDraft>();
        if (f.Optional("templates", JsonValueKind.Array, "an array of template objects", out bool present) is not { } array)
            return present ? throw new CommandException(WrongType, "templates is null; leave it out or give an array of templates") : templates;
        int count = array.GetArrayLength();
        if (count > _options.MaxImagesPerCommand)
            throw new CommandException(BadValue, $"templates has {count} entries; at most {_options.MaxImagesPerCommand} (Mqtt:MaxImagesPerCommand)");
        var models = new List<(string Name, string Key, int Size)> { (_gallery.Settings.Fast.Name, _gallery.FastModelKey, _gallery.Settings.Fast.OutputSize) };
        if (_gallery.Settings.Accurate is { } acc) models.Add((acc.Name, _gallery.AccurateModelKey!, acc.OutputSize));
        int i = 0;
        foreach (var item in array.EnumerateArray())
        {
            string name = $"templates[{i++}]";
            var t = new CommandFields(CommandFields.Expect(item, name, JsonValueKind.Object, "a template object {model, model_hash, vector}"), name + ".");
            t.RejectDuplicates();
            t.RejectUnknown(TemplateFields, "a template");
            string model = t.RequiredString("model"), hash = t.RequiredString("model_hash");
            var match = models.FindIndex(m => m.Name == model && m.Key == hash);
            if (match < 0)
                throw new CommandException(BadValue, $"{name} is for model '{CommandFields.Printable(model)}' with hash '{CommandFields.Printable(hash)}', not one of this kiosk's: " +
                    string.Join(", ", models.Select(m => $"{m.Name} {m.Key}")) + " (templates of another model or pre-processing cannot be compared)");
            int size = models[match].Size;
            float[] vector = ReadVector(t, name + ".vector", size);
            float quality = DefaultTemplateQuality;
            if (t.Optional("quality", JsonValueKind.Number, "a number from 0 to 1", out _) is { } q)
            {
                double value = q.TryGetDouble(out double d) ? d : double.NaN;
                if (!(value is >= 0 and <= 1)) throw new CommandException(BadValue, $"{name}.quality is {value.ToString(CultureInfo.InvariantCulture)}; it must be 0 to 1");
                quality = (float)value;
            }
            templates.Add(new TemplateDraft(model, hash, vector, quality, call.Stored(name)));
        }
        return templates;
    }

    private static float[] ReadVector(CommandFields t, string field, int size)
    {
        if (!t.TryGet("vector", out var v)) throw new CommandException(MissingField, $"{field} is missing; it must be {size} numbers or their base64 (float32, little-endian)");
        var vector = new float[size];
        if (v.ValueKind == JsonValueKind.Array)
        {
            int n = v.GetArrayLength();
            if (n != size) throw new CommandException(BadValue, $"{field} has {n} values; this model's templates have {size}");
            int i = 0;
            foreach (var x in v.EnumerateArray())
            {
                CommandFields.Expect(x, $"{field}[{i}]", JsonValueKind.Number, "a number");
                vector[i++] = x.TryGetSingle(out float value) ? value : float.NaN;
            }
        }
        else if (v.ValueKind == JsonValueKind.String)
        {
            if (!v.TryGetBytesFromBase64(out byte[]? bytes))
                throw new CommandException(BadValue, $"{field} is not valid base64");
            if (bytes.Length != size * sizeof(float))
                throw new CommandException(BadValue, $"{field} is {bytes.Length} bytes; {size} float32 values are {size * sizeof(float)}");
            for (int i = 0; i < size; i++) vector[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(i * sizeof(float)));
        }
        else throw new CommandException(WrongType, $"{field} is {CommandFields.Describe(v)}; it must be an array of numbers or a base64 string");
        double norm = 0;
        foreach (float x in vector)
        {
            if (!float.IsFinite(x)) throw new CommandException(BadValue, $"{field} has a value that is not a finite float32");
            norm += (double)x * x;
        }
        norm = Math.Sqrt(norm);
        // Stored templates are unit vectors: anything else is not an embedding of this model (or was altered).
        if (Math.Abs(norm - 1) > FaceIndex.UnitTolerance)
            throw new CommandException(BadValue, $"{field} has length {norm.ToString("F4", CultureInfo.InvariantCulture)}; templates are unit vectors (L2-normalised)");
        return vector;
    }

    /// <summary>A template that already matches someone else would make two people ambiguous with each other.</summary>
    private void CheckNotEnrolled(List<TemplateDraft> templates, long? self, Call call)
    {
        if (templates.Count == 0) return;
        var policy = _gallery.Policy();
        Span<IndexMatch> top = stackalloc IndexMatch[1];
        foreach (var t in templates)
        {
            bool fast = t.ModelName == _gallery.Settings.Fast.Name && t.ModelHash == _gallery.FastModelKey;
            var index = fast ? _gallery.FastIndex : _gallery.AccurateIndex!;
            float threshold = fast ? policy.Fast.Threshold : policy.Accurate.Threshold;
            if (index.Search(t.Vector, top) == 1 && top[0].Score >= threshold && top[0].PersonId != self)
                throw new CommandException(AlreadyEnrolled, FormattableString.Invariant(
                    $"{call.Local(t.Source)} matches person {_gallery.Store.GetPerson(top[0].PersonId)?.Uid ?? "?"} (similarity {top[0].Score:F3}); add templates to that person instead"));
        }
    }

    [GeneratedRegex(@"^already enrolled as .*\(person (\d+), similarity ([0-9.]+)\); add photos to that person instead$", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex AlreadyEnrolledReason();

    /// <summary>Why no photo passed, coded by the most telling reason: a duplicate, else no face anywhere, else quality.</summary>
    private CommandException NothingAccepted(EnrollmentResult result, Call call)
    {
        var reasons = result.Rejected.Select(r => (Source: call.Local(r.Source), Reason: Describe(r.Reason))).ToList();
        string code = result.Rejected.Any(r => AlreadyEnrolledReason().IsMatch(r.Reason)) ? AlreadyEnrolled
            : result.Rejected.All(r => r.Reason == "no face found") ? NoFace
            : QualityTooLow;
        return new CommandException(code, "no image was accepted: " + string.Join("; ", reasons.Select(r => $"{r.Source}: {r.Reason}")));
    }

    /// <summary>A rejection as the caller should read it: a duplicate names the other person by uid, not by name and row id.</summary>
    private string Describe(string reason)
    {
        var m = AlreadyEnrolledReason().Match(reason);
        if (!m.Success) return reason;
        string? uid = long.TryParse(m.Groups[1].Value, CultureInfo.InvariantCulture, out long id) ? _gallery.Store.GetPerson(id)?.Uid : null;
        return $"already enrolled as person {uid ?? "?"} (similarity {m.Groups[2].Value}); add photos to that person instead";
    }

    // ---- replies ---------------------------------------------------------------------------------------------------

    private void Done(Call call, Person person)
    {
        call.PersonUid = person.Uid;
        Log.CommandDone(_logger, call.Command!, call.RequestId!, person.Uid);
        Log.CommandPersonName(_logger, call.Command!, call.RequestId!, person.Uid, person.Name);
    }

    private CommandReply Refuse(Call call, CommandException e, DateTimeOffset now)
    {
        if (call.Authentic && IsOutcome(e.Code))
            Log.CommandOutcome(_logger, call.Command!, call.RequestId!, e.Code, call.PersonUid);
        else
        {
            var throttle = IsAuthentication(e.Code) ? _unauthenticated : _malformed;
            if (throttle.ShouldWarn(now, out int suppressed))
            {
                string more = suppressed > 0 ? $" ({suppressed} more refusals of this kind in the last minute)" : "";
                if (IsAuthentication(e.Code)) Log.CommandUnauthenticated(_logger, e.Code, call.RequestId, more);
                else Log.CommandMalformed(_logger, e.Code, call.RequestId, e.Message, more);
            }
            else Log.CommandRefusedQuietly(_logger, e.Code, call.RequestId, e.Message);
        }
        return Reply(call, e.Code, e.Message);
    }

    private CommandReply Ok(Call call, Action<Utf8JsonWriter> result) => Write(call, null, null, result);

    private CommandReply Reply(Call call, string code, string message) => Write(call, code, message, null);

    private CommandReply Write(Call call, string? code, string? message, Action<Utf8JsonWriter>? result)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("schema", ReplySchema);
            if (call.RequestId is null) w.WriteNull("request_id");
            else w.WriteString("request_id", call.RequestId);
            w.WriteString("kiosk", _topics.Kiosk);
            w.WriteString("site", _topics.Site);
            if (call.Command is not null) w.WriteString("command", call.Command);
            w.WriteBoolean("ok", code is null);
            if (code is not null)
            {
                w.WriteStartObject("error");
                w.WriteString("code", code);
                w.WriteString("message", message);
                w.WriteEndObject();
            }
            else
            {
                w.WriteStartObject("result");
                result?.Invoke(w);
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return new CommandReply(call.ReplyTo ?? _topics.Replies, buffer.WrittenSpan.ToArray(), call.RequestId, call.Command, code);
    }

    /// <summary>A person's metadata: never a vector or an image.</summary>
    private void WritePerson(Utf8JsonWriter w, Person p)
    {
        w.WriteStartObject("person");
        w.WriteString("person_id", p.Uid);
        w.WriteString("name", p.Name);
        if (p.ExternalId is null) w.WriteNull("external_id");
        else w.WriteString("external_id", p.ExternalId);
        w.WriteStartArray("groups");
        foreach (var g in p.Groups) w.WriteStringValue(g);
        w.WriteEndArray();
        if (p.ValidFrom is { } from) w.WriteString("valid_from", Utc(from));
        else w.WriteNull("valid_from");
        if (p.ValidUntil is { } until) w.WriteString("valid_until", Utc(until));
        else w.WriteNull("valid_until");
        w.WriteBoolean("enabled", p.Enabled);
        w.WriteString("created_utc", Utc(p.CreatedUtc));
        w.WriteNumber("site_revision", p.SiteRevision);
        w.WriteStartArray("templates");
        foreach (var g in _gallery.Store.TemplatesOf(p.Id).GroupBy(t => (t.ModelName, t.ModelHash)).OrderBy(g => g.Key.ModelName, StringComparer.Ordinal))
        {
            w.WriteStartObject();
            w.WriteString("model", g.Key.ModelName);
            w.WriteString("model_hash", g.Key.ModelHash);
            w.WriteNumber("count", g.Count());
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private void WriteVerdicts(Utf8JsonWriter w, EnrollmentResult result, Call call)
    {
        w.WriteStartArray("accepted");
        foreach (var source in result.Accepted) w.WriteStringValue(call.Local(source));
        w.WriteEndArray();
        w.WriteStartArray("rejected");
        foreach (var (source, reason) in result.Rejected)
        {
            w.WriteStartObject();
            w.WriteString("source", call.Local(source));
            w.WriteString("reason", Describe(reason));
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public void Dispose() => _key?.Dispose();
}
