using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kiosk.Host.Events;

namespace Kiosk.Host.Mqtt;

/// <summary>
/// An event as published on <c>kiosk/&lt;site&gt;/&lt;kiosk&gt;/events</c>: the JSON documented in
/// docs/mqtt/event.schema.json. <see cref="Id"/> is stable across retries and restarts: consumers deduplicate by it
/// (QoS 1 may deliver twice); <see cref="Sequence"/> orders a kiosk's events.
/// </summary>
public sealed record EventPayload(
    [property: JsonPropertyName("schema")] string Schema,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("sequence")] long Sequence,
    [property: JsonPropertyName("site")] string Site,
    [property: JsonPropertyName("kiosk")] string Kiosk,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("occurred_utc")] string OccurredUtc,
    [property: JsonPropertyName("person_id")] long? PersonId,
    [property: JsonPropertyName("person_name")] string? PersonName,
    [property: JsonPropertyName("person_uid")] string? PersonUid,
    [property: JsonPropertyName("score")] float? Score,
    [property: JsonPropertyName("tier")] string? Tier,
    [property: JsonPropertyName("detail")] string Detail,
    [property: JsonPropertyName("snapshot_jpeg")] string? SnapshotJpegBase64)
{
    public const string SchemaId = "kiosk-event/1";

    public static EventPayload From(StoredEvent stored, string site, string kiosk)
    {
        var e = stored.Event;
        return new EventPayload(SchemaId, e.Id.ToString("D"), stored.Sequence, site, kiosk, e.Kind.ToString(),
            // ISO 8601, UTC, milliseconds: what the event log keeps.
            e.OccurredUtc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            e.PersonId, e.PersonName, e.PersonUid, e.Score is { } s && float.IsFinite(s) ? s : null, e.Tier, e.Detail,
            e.SnapshotJpeg is { } jpeg ? Convert.ToBase64String(jpeg) : null);
    }

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, MqttJsonContext.Default.EventPayload);
}

[JsonSerializable(typeof(EventPayload))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class MqttJsonContext : JsonSerializerContext;
