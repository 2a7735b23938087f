namespace Kiosk.Vision.Faces;

/// <summary>
/// Least quality a face needs to be enrolled, or to be recognised at all: low-quality faces (blurred, turned, tiny)
/// give unreliable embeddings that match strangers. Sizes in image pixels, sharpness as
/// <see cref="FaceQuality.Sharpness"/> on the embedder's aligned crop, yaw in degrees.
/// </summary>
public sealed record FaceQualityPolicy
{
    /// <summary>Smallest face box height accepted.</summary>
    public float MinFaceSize { get; init; } = 80;
    /// <summary>Smallest distance between the eye centres accepted.</summary>
    public float MinInterocularDistance { get; init; } = 24;
    /// <summary>Least Laplacian variance of the aligned crop (blurred faces score under ~100; sharp ones 500+).</summary>
    public double MinSharpness { get; init; } = 100;
    /// <summary>Largest head turn accepted.</summary>
    public float MaxYawDegrees { get; init; } = 30;

    /// <param name="section">Settings section the values come from, named in errors.</param>
    public void Validate(string section)
    {
        if (MinFaceSize is < 8 or > 4096) throw new ArgumentOutOfRangeException(nameof(MinFaceSize), MinFaceSize, $"{section}:MinFaceSize must be 8..4096 pixels");
        if (MinInterocularDistance is < 0 or > 2048) throw new ArgumentOutOfRangeException(nameof(MinInterocularDistance), MinInterocularDistance, $"{section}:MinInterocularDistance must be 0..2048 pixels");
        if (MinSharpness < 0) throw new ArgumentOutOfRangeException(nameof(MinSharpness), MinSharpness, $"{section}:MinSharpness must be >= 0");
        if (MaxYawDegrees is <= 0 or > 90) throw new ArgumentOutOfRangeException(nameof(MaxYawDegrees), MaxYawDegrees, $"{section}:MaxYawDegrees must be in (0, 90]");
    }

    /// <summary>Null when the face is good enough, else the reason in words.</summary>
    public string? Check(in FaceQuality q)
    {
        if (q.FaceSize < MinFaceSize) return $"face too small: {q.FaceSize:F0} px, at least {MinFaceSize:F0} px needed";
        if (q.InterocularDistance < MinInterocularDistance)
            return $"eyes too close together: {q.InterocularDistance:F0} px apart, at least {MinInterocularDistance:F0} px needed";
        if (q.Sharpness < MinSharpness) return $"too blurred: sharpness {q.Sharpness:F0}, at least {MinSharpness:F0} needed";
        if (MathF.Abs(q.YawDegrees) > MaxYawDegrees)
            return $"head turned {MathF.Abs(q.YawDegrees):F0}°, at most {MaxYawDegrees:F0}° accepted: look at the camera";
        return null;
    }
}

/// <summary>The gate's verdict on one photo: the face to enroll, or why there is none.</summary>
public readonly record struct GateVerdict(FaceResult? Face, string? Rejection)
{
    public bool Accepted => Face is not null;
}

/// <summary>Decides whether a photo makes a good enrollment template; every rejection says why.</summary>
public static class EnrollmentGate
{
    /// <summary>
    /// A second face at least this fraction of the largest one's size makes the photo ambiguous (whom to enroll?);
    /// smaller faces are background and ignored.
    /// </summary>
    public const float SecondFaceRatio = 0.5f;

    public static GateVerdict Check(IReadOnlyList<FaceResult> faces, FaceQualityPolicy policy)
    {
        if (faces.Count == 0) return new(null, "no face found");
        var main = faces[0];
        foreach (var f in faces) if (f.Quality.FaceSize > main.Quality.FaceSize) main = f;
        int prominent = 0;
        foreach (var f in faces) if (f.Quality.FaceSize >= SecondFaceRatio * main.Quality.FaceSize) prominent++;
        if (prominent > 1) return new(null, $"{prominent} faces of similar size: the photo must show one person");
        return policy.Check(main.Quality) is { } reason ? new(null, reason) : new(main, null);
    }
}
