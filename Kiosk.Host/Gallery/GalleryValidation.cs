namespace Kiosk.Host.Gallery;

/// <summary>Argument checks shared by enrollment and import; failures are <see cref="ArgumentException"/>s naming the field.</summary>
internal static class GalleryValidation
{
    public const int CropPoints = 10;
    public const int CropBox = 4;
    public const int MaxNameLength = 200;
    public const int MaxGroups = 64;
    public const int MaxVectorLength = 8192;
    public const int MaxCropImageBytes = 16 << 20;

    /// <summary>A person's fields as stored: trimmed, groups deduplicated and sorted.</summary>
    public sealed record NormalizedPerson(string Name, string? ExternalId, string[] Groups, DateTimeOffset? ValidFrom, DateTimeOffset? ValidUntil, bool Enabled);

    public static NormalizedPerson Normalize(PersonDraft draft, string paramName)
    {
        ArgumentNullException.ThrowIfNull(draft, paramName);
        string name = Text(draft.Name, "Name", paramName, allowEmpty: false);
        string? externalId = draft.ExternalId is null ? null : Text(draft.ExternalId, "ExternalId", paramName, allowEmpty: false, emptyHint: "; pass null for none");
        var groups = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string? group in draft.Groups ?? [])
            groups.Add(Text(group!, "Groups", paramName, allowEmpty: false));
        if (groups.Count > MaxGroups) throw new ArgumentException($"Groups has {groups.Count} entries; at most {MaxGroups}", paramName);
        if (draft.ValidFrom is { } from && draft.ValidUntil is { } until && until <= from)
            throw new ArgumentException($"ValidUntil ({until:O}) must be after ValidFrom ({from:O})", paramName);
        return new NormalizedPerson(name, externalId, [.. groups], draft.ValidFrom, draft.ValidUntil, draft.Enabled);
    }

    public static void Check(TemplateDraft? t, string paramName)
    {
        if (t is null) throw new ArgumentNullException(paramName, "a template is null");
        // Model names are looked up as given, so they are refused rather than trimmed.
        if (Text(t.ModelName, "ModelName", paramName, allowEmpty: false) != t.ModelName)
            throw new ArgumentException("ModelName has leading or trailing spaces", paramName);
        if (Text(t.ModelHash, "ModelHash", paramName, allowEmpty: false) != t.ModelHash)
            throw new ArgumentException("ModelHash has leading or trailing spaces", paramName);
        if (t.Source is null) throw new ArgumentException("Source is null", paramName);
        if (t.Vector is null || t.Vector.Length is 0 or > MaxVectorLength)
            throw new ArgumentException($"Vector must have 1..{MaxVectorLength} values (it has {t.Vector?.Length ?? 0})", paramName);
        if (!AllFinite(t.Vector)) throw new ArgumentException("Vector has a NaN or infinite value", paramName);
        // Embeddings are stored as unit vectors; anything else cannot be searched and would stop the gallery loading.
        double norm = Math.Sqrt(t.Vector.Sum(v => (double)v * v));
        if (Math.Abs(norm - 1) > Kiosk.Vision.Matching.FaceIndex.UnitTolerance)
            throw new ArgumentException($"Vector has length {norm:F4}; templates are unit vectors", paramName);
        if (!float.IsFinite(t.Quality)) throw new ArgumentException($"Quality is {t.Quality}; it must be a finite number", paramName);
        if (t.Crop is { } crop)
        {
            if (crop.Image is null || crop.Image.Length is 0 or > MaxCropImageBytes)
                throw new ArgumentException($"Crop.Image must hold 1..{MaxCropImageBytes} bytes", paramName);
            if (crop.Points is null || crop.Points.Length != CropPoints || !AllFinite(crop.Points))
                throw new ArgumentException($"Crop.Points must be {CropPoints} finite values (five x,y pairs)", paramName);
            if (crop.Box is null || crop.Box.Length != CropBox || !AllFinite(crop.Box))
                throw new ArgumentException($"Crop.Box must be {CropBox} finite values (x1,y1,x2,y2)", paramName);
        }
    }

    private static string Text(string value, string field, string paramName, bool allowEmpty, string emptyHint = "")
    {
        if (value is null) throw new ArgumentException($"{field} is null", paramName);
        string trimmed = value.Trim();
        if (!allowEmpty && trimmed.Length == 0) throw new ArgumentException($"{field} is empty{emptyHint}", paramName);
        if (trimmed.Length > MaxNameLength) throw new ArgumentException($"{field} is {trimmed.Length} characters long; at most {MaxNameLength}", paramName);
        // No control characters: listings stay one line per person, and the cipher's associated data stays unambiguous.
        if (trimmed.AsSpan().IndexOfAnyInRange('\0', '\x1f') >= 0 || trimmed.Contains('\x7f'))
            throw new ArgumentException($"{field} contains a control character", paramName);
        return trimmed;
    }

    private static bool AllFinite(float[] values)
    {
        foreach (float v in values) if (!float.IsFinite(v)) return false;
        return true;
    }
}
