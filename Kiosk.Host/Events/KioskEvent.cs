namespace Kiosk.Host.Events;

/// <summary>
/// What happened at the door. Stored by name (the text <c>Granted</c>, not a number), so members may be added or
/// reordered without touching stored rows; never rename one.
/// </summary>
public enum EventKind
{
    Granted,
    Denied,
    UnknownFace,
    DoorForced,
    DoorHeldOpen,
    DoorClosed,
    ExitButton,
    SourceFailed,
    SourceRecovered,
    ServiceStarted,
    ServiceStopping,
    /// <summary>The door was opened by a remote command (MQTT open-door), not by a face or the exit button.</summary>
    RemoteOpen,
}

/// <summary>
/// One thing that happened, written to the <see cref="EventStore"/> before the kiosk acts on it.
/// </summary>
/// <param name="Id">Unique per event, made by the writer (<see cref="Guid.NewGuid"/>); appending the same id twice stores it once.</param>
/// <param name="OccurredUtc">When it happened; stored as Unix milliseconds, so it comes back UTC and truncated to the millisecond.</param>
/// <param name="PersonId">The gallery's person id, for grants and denials of a known person.</param>
/// <param name="PersonName">The person's name at the time (the gallery may rename or remove them later).</param>
/// <param name="Score">The match score (cosine similarity) that decided, when a face was matched.</param>
/// <param name="Tier">The identification tier that decided (fast or accurate model), when one did.</param>
/// <param name="Detail">Free text for the operator: the reason of a denial, the failing source's error.</param>
/// <param name="SnapshotJpeg">The camera frame as JPEG; kept only when <see cref="EventStoreOptions.KeepSnapshots"/> is on.</param>
public sealed record KioskEvent(Guid Id, EventKind Kind, DateTimeOffset OccurredUtc, long? PersonId, string? PersonName,
    float? Score, string? Tier, string Detail, byte[]? SnapshotJpeg = null)
{
    /// <summary>The person's site-wide id (the gallery's uid), for grants and denials of a known person.</summary>
    public string? PersonUid { get; init; }

    /// <summary>A new event with a fresh id, happening now.</summary>
    public static KioskEvent Now(EventKind kind, string detail, long? personId = null, string? personName = null,
        float? score = null, string? tier = null, byte[]? snapshotJpeg = null) =>
        new(Guid.NewGuid(), kind, DateTimeOffset.UtcNow, personId, personName, score, tier, detail, snapshotJpeg);
}

/// <summary>
/// An event as stored: its <paramref name="Sequence"/> (1, 2, 3, ... in the order of appending, never reused, with
/// gaps where events were pruned) and whether it has been handed on (<see cref="EventStore.MarkSent(long)"/>).
/// </summary>
public sealed record StoredEvent(long Sequence, KioskEvent Event, bool Sent);

/// <summary>The event store failed: a damaged or foreign file, a schema newer than this program, SQLite refusing (busy, disk full).</summary>
public sealed class EventStoreException : Exception
{
    public EventStoreException(string message) : base(message) { }
    public EventStoreException(string message, Exception inner) : base(message, inner) { }
}
