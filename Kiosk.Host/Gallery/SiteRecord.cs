using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Kiosk.Host.Gallery;

/// <summary>
/// One person's state in the site gallery, as the fleet exchanges it: their site-wide id, the site revision, and
/// either their fields and every template (<paramref name="Person"/>) or, for a deletion, nothing but the tombstone.
/// </summary>
/// <param name="DeletedUtc">When a tombstone's deletion happened (informational; not part of the comparison).</param>
public sealed record SiteRecord(string Uid, long Revision, bool Deleted, SitePerson? Person, DateTimeOffset? DeletedUtc = null)
{
    /// <summary>Revisions stay below 2^53, so every JSON reader holds them exactly.</summary>
    public const long MaxRevision = 1L << 53;
}

/// <summary>A live person's fields and templates in a <see cref="SiteRecord"/>. Crops stay on the kiosk that took them.</summary>
public sealed record SitePerson(string Name, string? ExternalId, IReadOnlyList<string> Groups, DateTimeOffset? ValidFrom,
    DateTimeOffset? ValidUntil, bool Enabled, DateTimeOffset CreatedUtc, IReadOnlyList<SiteTemplate> Templates);

/// <summary>A template in a <see cref="SiteRecord"/>: the vector in clear (the record travels encrypted as a whole).</summary>
public sealed record SiteTemplate(string ModelName, string ModelHash, float[] Vector, float Quality, string Source, DateTimeOffset CreatedUtc);

/// <summary>What <see cref="GalleryStore.ApplySiteRecord"/> did with a record.</summary>
public enum SiteApplyOutcome
{
    /// <summary>The record was newer (or won the tie): the person was replaced, added or deleted.</summary>
    Applied,
    /// <summary>The gallery already holds exactly this state; nothing changed.</summary>
    Unchanged,
    /// <summary>
    /// The gallery holds a newer state (or the one that wins the tie): nothing changed, and the local state is marked
    /// for publishing again, so the site's retained copy is brought forward to it.
    /// </summary>
    Stale,
    /// <summary>The record cannot be applied here (its ExternalId is another person's, a vector length differs from
    /// the model's); nothing changed. <see cref="SiteApplyResult.Detail"/> says why, naming both people.</summary>
    Conflict,
}

/// <summary>The outcome of applying a site record; <see cref="PersonId"/> is the local person it concerned, if any.</summary>
public sealed record SiteApplyResult(SiteApplyOutcome Outcome, string Detail, long? PersonId = null);

/// <summary>
/// The canonical plaintext of a <see cref="SiteRecord"/>: UTF-8 JSON with a fixed member order, times as Unix
/// milliseconds, vectors as base64 of little-endian float32, groups sorted, templates sorted by model, hash and
/// vector bytes. Two kiosks holding the same state produce the same bytes, so its SHA-256 breaks ties the same way
/// everywhere. Documented in docs/mqtt/gallery.md.
/// </summary>
internal static class SiteRecordJson
{
    public const int MaxTemplates = 1024;

    internal sealed record RecordDto(
        [property: JsonPropertyName("uid")] string Uid,
        [property: JsonPropertyName("revision")] long Revision,
        [property: JsonPropertyName("deleted")] bool Deleted,
        [property: JsonPropertyName("deleted_utc")] long? DeletedUtc,
        [property: JsonPropertyName("person")] PersonDto? Person);

    internal sealed record PersonDto(
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("external_id")] string? ExternalId,
        [property: JsonPropertyName("groups")] string[] Groups,
        [property: JsonPropertyName("valid_from")] long? ValidFrom,
        [property: JsonPropertyName("valid_until")] long? ValidUntil,
        [property: JsonPropertyName("enabled")] bool Enabled,
        [property: JsonPropertyName("created_utc")] long CreatedUtc,
        [property: JsonPropertyName("templates")] TemplateDto[] Templates);

    internal sealed record TemplateDto(
        [property: JsonPropertyName("model_name")] string ModelName,
        [property: JsonPropertyName("model_hash")] string ModelHash,
        [property: JsonPropertyName("vector")] byte[] Vector,
        [property: JsonPropertyName("quality")] float Quality,
        [property: JsonPropertyName("source")] string Source,
        [property: JsonPropertyName("created_utc")] long CreatedUtc);

    /// <summary>The canonical bytes (templates put in canonical order here, whatever order the record has).</summary>
    public static byte[] Serialize(SiteRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        PersonDto? person = null;
        if (record.Person is { } p)
        {
            var templates = p.Templates.Select(t => new TemplateDto(t.ModelName, t.ModelHash, GalleryCipher.EncodeVector(t.Vector), t.Quality,
                t.Source, t.CreatedUtc.ToUnixTimeMilliseconds())).ToArray();
            Array.Sort(templates, CompareTemplates);
            person = new PersonDto(p.Name, p.ExternalId, [.. p.Groups.Order(StringComparer.Ordinal)], p.ValidFrom?.ToUnixTimeMilliseconds(),
                p.ValidUntil?.ToUnixTimeMilliseconds(), p.Enabled, p.CreatedUtc.ToUnixTimeMilliseconds(), templates);
        }
        var dto = new RecordDto(record.Uid, record.Revision, record.Deleted, record.DeletedUtc?.ToUnixTimeMilliseconds(), person);
        return JsonSerializer.SerializeToUtf8Bytes(dto, SiteRecordJsonContext.Default.RecordDto);
    }

    /// <summary>SHA-256 of the canonical bytes: the tie-breaker between two different states of one revision.</summary>
    public static byte[] Digest(SiteRecord record)
    {
        byte[] plain = Serialize(record);
        try
        {
            return SHA256.HashData(plain);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }

    /// <summary>Reads a record; only the form, not the content, is checked here (the store validates the content).</summary>
    /// <exception cref="ArgumentException">Not a record: malformed JSON, a member missing or unknown, a vector not whole float32s.</exception>
    public static SiteRecord Parse(ReadOnlySpan<byte> utf8)
    {
        RecordDto? dto;
        try
        {
            dto = JsonSerializer.Deserialize(utf8, SiteRecordJsonContext.Default.RecordDto);
        }
        catch (JsonException e)
        {
            // The message names the path and position, never the content.
            throw new ArgumentException($"the record is not valid: {e.Message}", e);
        }
        if (dto is null) throw new ArgumentException("the record is null");
        SitePerson? person = null;
        if (dto.Person is { } p)
        {
            if (p.Templates.Length > MaxTemplates) throw new ArgumentException($"the record has {p.Templates.Length} templates; at most {MaxTemplates}");
            var templates = new SiteTemplate[p.Templates.Length];
            for (int i = 0; i < templates.Length; i++)
            {
                var t = p.Templates[i] ?? throw new ArgumentException("a template is null");
                if (t.Vector.Length % sizeof(float) != 0) throw new ArgumentException("a template's vector is not whole float32 values");
                templates[i] = new SiteTemplate(t.ModelName, t.ModelHash, GalleryCipher.DecodeVector(t.Vector), t.Quality, t.Source, Time(t.CreatedUtc));
            }
            person = new SitePerson(p.Name, p.ExternalId, p.Groups, TimeOrNull(p.ValidFrom), TimeOrNull(p.ValidUntil), p.Enabled, Time(p.CreatedUtc), templates);
        }
        return new SiteRecord(dto.Uid, dto.Revision, dto.Deleted, person, TimeOrNull(dto.DeletedUtc));
    }

    private static DateTimeOffset Time(long ms) =>
        ms is >= -62135596800000 and <= 253402300799999 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : throw new ArgumentException($"time {ms} is out of range");

    private static DateTimeOffset? TimeOrNull(long? ms) => ms is long v ? Time(v) : null;

    private static int CompareTemplates(TemplateDto? a, TemplateDto? b)
    {
        int c = string.CompareOrdinal(a!.ModelName, b!.ModelName);
        if (c == 0) c = string.CompareOrdinal(a.ModelHash, b.ModelHash);
        if (c == 0) c = a.Vector.AsSpan().SequenceCompareTo(b.Vector);
        if (c == 0) c = a.Quality.CompareTo(b.Quality);
        if (c == 0) c = string.CompareOrdinal(a.Source, b.Source);
        if (c == 0) c = a.CreatedUtc.CompareTo(b.CreatedUtc);
        return c;
    }
}

[JsonSerializable(typeof(SiteRecordJson.RecordDto))]
[JsonSourceGenerationOptions(
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
internal sealed partial class SiteRecordJsonContext : JsonSerializerContext;
