using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;

namespace Kiosk.Host.Fleet;

/// <summary>Why a gallery message was refused.</summary>
public enum SiteMessageRefusal
{
    None,
    /// <summary>Larger than <see cref="FleetOptions.MaxPayloadBytes"/>: not even parsed.</summary>
    TooLarge,
    /// <summary>The topic's last level is not a person id in canonical form.</summary>
    BadTopic,
    /// <summary>Not the JSON envelope: malformed, a member missing, unknown or of the wrong type.</summary>
    BadEnvelope,
    /// <summary>A <c>schema</c> other than <see cref="SiteGalleryCodec.Schema"/>.</summary>
    WrongSchema,
    /// <summary>The envelope's uid is not the topic's, or the plaintext's uid, revision or deleted flag are not the envelope's.</summary>
    UidMismatch,
    /// <summary>Authentication failed: another site key, a changed byte, or a payload moved to another topic or revision.</summary>
    DoesNotDecrypt,
    /// <summary>It decrypted, but the person record in it is malformed or invalid.</summary>
    BadRecord,
}

/// <summary>A gallery message opened: the record, or why not (<see cref="Detail"/> never quotes the payload).</summary>
public readonly record struct SiteMessage(SiteRecord? Record, SiteMessageRefusal Refusal, string Detail, string? Origin);

/// <summary>
/// The fleet gallery's wire format (docs/mqtt/gallery.md): a JSON envelope
/// <c>{"schema":"kiosk-gallery/1","uid","revision","deleted","origin","nonce","ciphertext"}</c> around the AES-256-GCM
/// encryption of the record's canonical plaintext (<see cref="SiteRecordJson"/>) under the site key. The associated
/// data binds schema, topic, uid, revision, deleted flag and origin, so a payload replayed under another topic or with
/// an edited clear field does not open; the plaintext repeats uid, revision and deleted and must agree.
/// </summary>
/// <remarks>Thread safety: stateless apart from the key; any thread.</remarks>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SiteGalleryCodec
{
    public const string Schema = "kiosk-gallery/1";

    private readonly SiteKey _key;
    private readonly KioskTopics _topics;
    private readonly int _maxPayloadBytes;

    public SiteGalleryCodec(SiteKey key, KioskTopics topics, int maxPayloadBytes)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPayloadBytes);
        _key = key;
        _topics = topics;
        _maxPayloadBytes = maxPayloadBytes;
    }

    internal sealed record Envelope(
        [property: JsonPropertyName("schema")] string Schema,
        [property: JsonPropertyName("uid")] string Uid,
        [property: JsonPropertyName("revision")] long Revision,
        [property: JsonPropertyName("deleted")] bool Deleted,
        [property: JsonPropertyName("origin")] string Origin,
        [property: JsonPropertyName("nonce")] byte[] Nonce,
        [property: JsonPropertyName("ciphertext")] byte[] Ciphertext);

    /// <summary>The retained topic of a person: <c>kiosk/&lt;site&gt;/gallery/&lt;uid&gt;</c>.</summary>
    public string Topic(string uid) => _topics.Gallery(uid);

    /// <summary>True when the topic is one of this site's gallery topics (whatever its last level).</summary>
    public bool IsGalleryTopic(string topic) =>
        topic.StartsWith(_topics.GalleryPrefix, StringComparison.Ordinal) && topic.IndexOf('/', _topics.GalleryPrefix.Length) < 0;

    /// <summary>The payload for <paramref name="record"/>, from this kiosk (the origin).</summary>
    public byte[] Seal(SiteRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        byte[] plain = SiteRecordJson.Serialize(record);
        try
        {
            var (nonce, sealedBytes) = _key.Seal(plain, AssociatedData(Topic(record.Uid), record.Uid, record.Revision, record.Deleted, _topics.Kiosk));
            return JsonSerializer.SerializeToUtf8Bytes(new Envelope(Schema, record.Uid, record.Revision, record.Deleted, _topics.Kiosk, nonce, sealedBytes),
                SiteGalleryJsonContext.Default.Envelope);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>Opens a message of a gallery topic. The record's content is validated later, by the store.</summary>
    public SiteMessage Open(string topic, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(topic);
        if (payload.Length > _maxPayloadBytes)
            return Refuse(SiteMessageRefusal.TooLarge, $"{payload.Length} bytes, more than {FleetOptions.Section}:MaxPayloadBytes ({_maxPayloadBytes})");
        string uid = IsGalleryTopic(topic) ? topic[_topics.GalleryPrefix.Length..] : "";
        if (!Guid.TryParse(uid, out var g) || g == Guid.Empty || g.ToString("D") != uid)
            return Refuse(SiteMessageRefusal.BadTopic, "the topic's last level is not a person id (a lower-case UUID)");

        Envelope? e;
        try
        {
            e = JsonSerializer.Deserialize(payload, SiteGalleryJsonContext.Default.Envelope);
        }
        catch (JsonException x)
        {
            return SchemaOf(payload) is { } other && other != Schema
                ? Refuse(SiteMessageRefusal.WrongSchema, $"schema '{Printable(other)}', this kiosk reads '{Schema}'")
                : Refuse(SiteMessageRefusal.BadEnvelope, $"not a gallery envelope: {x.Message}");
        }
        if (e is null) return Refuse(SiteMessageRefusal.BadEnvelope, "the envelope is null");
        if (e.Schema != Schema) return Refuse(SiteMessageRefusal.WrongSchema, $"schema '{Printable(e.Schema)}', this kiosk reads '{Schema}'");
        if (e.Uid != uid) return Refuse(SiteMessageRefusal.UidMismatch, "the envelope's uid is not the topic's");
        if (!ValidOrigin(e.Origin)) return Refuse(SiteMessageRefusal.BadEnvelope, "the origin is not a kiosk name");
        if (e.Revision is < 1 or > SiteRecord.MaxRevision) return Refuse(SiteMessageRefusal.BadEnvelope, $"revision {e.Revision} is out of range");

        byte[]? plain = _key.TryOpen(e.Nonce, e.Ciphertext, AssociatedData(topic, uid, e.Revision, e.Deleted, e.Origin));
        if (plain is null)
            return Refuse(SiteMessageRefusal.DoesNotDecrypt, "it does not decrypt with this site's key (another site key, a changed byte, or moved from another topic)", e.Origin);
        try
        {
            SiteRecord record;
            try
            {
                record = SiteRecordJson.Parse(plain);
            }
            catch (ArgumentException x)
            {
                return Refuse(SiteMessageRefusal.BadRecord, x.Message, e.Origin);
            }
            if (record.Uid != uid || record.Revision != e.Revision || record.Deleted != e.Deleted)
                return Refuse(SiteMessageRefusal.UidMismatch, "the encrypted record's uid, revision or deleted flag is not the envelope's", e.Origin);
            return new SiteMessage(record, SiteMessageRefusal.None, "", e.Origin);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>UTF-8 <c>"{schema}\n{topic}\n{uid}\n{revision}\n{live|deleted}\n{origin}"</c>; no part holds a newline.</summary>
    private static byte[] AssociatedData(string topic, string uid, long revision, bool deleted, string origin) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{Schema}\n{topic}\n{uid}\n{revision}\n{(deleted ? "deleted" : "live")}\n{origin}"));

    private static bool ValidOrigin(string origin)
    {
        try
        {
            KioskTopics.CheckName(origin, "origin");
            return true;
        }
        catch (SettingsException)
        {
            return false;
        }
    }

    /// <summary>The <c>schema</c> member of a payload that is JSON but not this envelope, to tell a newer format from garbage.</summary>
    private static string? SchemaOf(ReadOnlySpan<byte> payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isSchema = reader.ValueTextEquals("schema"u8);
                if (!reader.Read()) return null;
                if (isSchema) return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A schema name for a log line: short, without control characters (it comes from the network).</summary>
    private static string Printable(string text)
    {
        var clean = new string([.. text.Take(40).Select(c => char.IsControl(c) ? '?' : c)]);
        return text.Length > 40 ? clean + "..." : clean;
    }

    private static SiteMessage Refuse(SiteMessageRefusal reason, string detail, string? origin = null) => new(null, reason, detail, origin);
}

[JsonSerializable(typeof(SiteGalleryCodec.Envelope))]
[JsonSourceGenerationOptions(
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
internal sealed partial class SiteGalleryJsonContext : JsonSerializerContext;
