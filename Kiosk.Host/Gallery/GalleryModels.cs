namespace Kiosk.Host.Gallery;

/// <summary>
/// A person the kiosk knows. Times are UTC instants with millisecond precision (stored as Unix milliseconds).
/// <paramref name="Revision"/> is the gallery revision of the person's last change (their templates included);
/// rows from galleries older than schema 3 carry 0.
/// </summary>
public sealed record Person(long Id, string Name, string? ExternalId, IReadOnlyList<string> Groups,
    DateTimeOffset? ValidFrom, DateTimeOffset? ValidUntil, bool Enabled, DateTimeOffset CreatedUtc, long Revision)
{
    /// <summary>The person across the site's kiosks (a UUID, lower case): MQTT commands and the fleet gallery use it.</summary>
    public string Uid { get; init; } = "";

    /// <summary>The person's version in the site gallery: every change, here or on another kiosk, raises it.</summary>
    public long SiteRevision { get; init; }
}

/// <summary>
/// A person's fields as the caller wants them: the whole new state for <see cref="GalleryStore.UpdatePerson"/>
/// (null <paramref name="Groups"/> means no groups). Names are trimmed; group names trimmed, deduplicated, sorted.
/// </summary>
public sealed record PersonDraft(string Name, string? ExternalId = null, IReadOnlyList<string>? Groups = null,
    DateTimeOffset? ValidFrom = null, DateTimeOffset? ValidUntil = null, bool Enabled = true);

/// <summary>
/// An aligned face crop kept for re-embedding: encoded image bytes (JPEG), the five points (x,y pairs, 10 floats)
/// and the face box (x1,y1,x2,y2) in crop pixels.
/// </summary>
public sealed record FaceCrop(byte[] Image, float[] Points, float[] Box);

/// <summary>
/// A face template to store. <paramref name="ModelName"/> and <paramref name="ModelHash"/> together name the
/// embedding model; every vector of one model has the same length. <paramref name="Crop"/> is kept only when
/// <see cref="GalleryOptions.KeepCrops"/> is on.
/// </summary>
public sealed record TemplateDraft(string ModelName, string ModelHash, float[] Vector, float Quality, string Source, FaceCrop? Crop = null);

/// <summary>A stored template, decrypted.</summary>
public sealed record StoredTemplate(long Id, long PersonId, string ModelName, string ModelHash, float[] Vector, float Quality, string Source, DateTimeOffset CreatedUtc);

/// <summary>A stored crop, decrypted, with the template it was embedded into.</summary>
public sealed record StoredCrop(long TemplateId, long PersonId, FaceCrop Crop);

/// <summary>What <see cref="GalleryStore.Import"/> did. <paramref name="TemplatesAdded"/> counts the templates kept.</summary>
public sealed record ImportResult(int PeopleAdded, int PeopleUpdated, int TemplatesAdded);
