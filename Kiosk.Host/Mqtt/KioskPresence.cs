using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kiosk.Host.Mqtt;

/// <summary>
/// The kiosk's retained status at <c>kiosk/&lt;site&gt;/&lt;kiosk&gt;/status</c> ("kiosk-status/1", documented in
/// docs/mqtt/status.schema.json): <c>online</c> with what the site's tools want to see at a glance, or <c>offline</c>,
/// which is also the last will the broker publishes when the kiosk vanishes without saying goodbye.
/// </summary>
public sealed record StatusPayload(
    [property: JsonPropertyName("schema")] string Schema,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("site")] string Site,
    [property: JsonPropertyName("kiosk")] string Kiosk,
    [property: JsonPropertyName("version")] string? Version = null,
    [property: JsonPropertyName("models")] StatusModels? Models = null,
    [property: JsonPropertyName("gallery_revision")] long? GalleryRevision = null,
    [property: JsonPropertyName("people")] int? People = null,
    [property: JsonPropertyName("unsent_events")] long? UnsentEvents = null,
    [property: JsonPropertyName("online_since_utc")] string? OnlineSinceUtc = null,
    [property: JsonPropertyName("updated_utc")] string? UpdatedUtc = null,
    [property: JsonPropertyName("inference")] string? Inference = null)
{
    public const string SchemaId = "kiosk-status/1";

    /// <summary>This build's version (with its commit when built from git).</summary>
    public static string ProgramVersion { get; } =
        typeof(StatusPayload).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    public static StatusPayload Offline(KioskTopics topics) => new(SchemaId, "offline", topics.Site, topics.Kiosk);

    public static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, PresenceJsonContext.Default.StatusPayload);

    public static StatusPayload? Parse(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize(json, PresenceJsonContext.Default.StatusPayload);
}

/// <summary>The embedding models in use, as name and file SHA-256 (what a template is tied to).</summary>
public sealed record StatusModels(
    [property: JsonPropertyName("fast")] string Fast,
    [property: JsonPropertyName("accurate")] string? Accurate);

[JsonSerializable(typeof(StatusPayload))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class PresenceJsonContext : JsonSerializerContext;
