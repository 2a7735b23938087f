namespace Kiosk.Host.Events;

/// <summary>
/// The event log's schema history, run like the gallery's (<see cref="Gallery.GallerySchema"/>): each migration in
/// one transaction with its version bump. Never edit a shipped migration; add the next one at the end.
/// </summary>
/// <remarks>
/// <para>Times are Unix milliseconds (UTC), integers: range queries are plain comparisons and need no parsing.
/// Kinds are stored by name. The counters in <c>meta</c> (<c>events</c>, <c>unsent</c>) are kept by triggers in
/// the same transaction as the change, so they are right for every process that writes the file, and reading
/// them does not count a million rows.</para>
/// <para>Rows are immutable but for <c>sent</c> (0 to 1); a trigger refuses any other update.</para>
/// </remarks>
internal static class EventSchema
{
    public const string StoreMarker = "kiosk-events";

    public sealed record Migration(int Version, string Description, string Sql);

    public static readonly Migration[] Migrations =
    [
        new(1, "events, snapshots, counters", """
            CREATE TABLE meta (
                key   TEXT PRIMARY KEY NOT NULL,
                value                               -- no type: integers stay integers
            ) WITHOUT ROWID;
            CREATE TABLE events (
                seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- the sequence: append order, never reused
                id           TEXT NOT NULL CHECK (length(id) = 36),  -- the event's uuid, lower case, 8-4-4-4-12
                kind         TEXT NOT NULL CHECK (length(kind) > 0), -- EventKind by name
                occurred_utc INTEGER NOT NULL,                   -- Unix milliseconds
                person_id    INTEGER,
                person_name  TEXT,
                score        REAL,
                tier         TEXT,
                detail       TEXT NOT NULL,
                sent         INTEGER NOT NULL DEFAULT 0 CHECK (sent IN (0, 1))
            );
            CREATE UNIQUE INDEX events_id ON events(id);
            CREATE INDEX events_time ON events(occurred_utc);
            CREATE INDEX events_kind_time ON events(kind, occurred_utc);
            CREATE INDEX events_unsent ON events(seq) WHERE sent = 0;   -- the outbox, oldest first
            CREATE INDEX events_sent ON events(seq) WHERE sent = 1;     -- what may be pruned, oldest first
            CREATE TABLE snapshots (
                seq  INTEGER PRIMARY KEY REFERENCES events(seq) ON DELETE CASCADE,
                jpeg BLOB NOT NULL
            );
            INSERT INTO meta(key, value) VALUES ('events', 0), ('unsent', 0);
            CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN
                UPDATE meta SET value = value + 1 WHERE key = 'events';
                UPDATE meta SET value = value + 1 WHERE key = 'unsent' AND NEW.sent = 0;
            END;
            CREATE TRIGGER events_count_delete AFTER DELETE ON events BEGIN
                UPDATE meta SET value = value - 1 WHERE key = 'events';
                UPDATE meta SET value = value - 1 WHERE key = 'unsent' AND OLD.sent = 0;
            END;
            CREATE TRIGGER events_count_sent AFTER UPDATE OF sent ON events WHEN OLD.sent <> NEW.sent BEGIN
                UPDATE meta SET value = value + OLD.sent - NEW.sent WHERE key = 'unsent';
            END;
            CREATE TRIGGER events_immutable BEFORE UPDATE OF seq, id, kind, occurred_utc, person_id, person_name, score, tier, detail ON events
            BEGIN
                SELECT RAISE(ABORT, 'events are immutable: only sent may change');
            END;
            """),
        new(2, "the person's site-wide id", """
            -- The gallery's uid (a UUID): the same person on every kiosk of the site, stable when renamed or re-enrolled.
            ALTER TABLE events ADD COLUMN person_uid TEXT;
            DROP TRIGGER events_immutable;
            CREATE TRIGGER events_immutable
            BEFORE UPDATE OF seq, id, kind, occurred_utc, person_id, person_name, score, tier, detail, person_uid ON events
            BEGIN
                SELECT RAISE(ABORT, 'events are immutable: only sent may change');
            END;
            """),
    ];

    public static int CurrentVersion => Migrations[^1].Version;
}
