using Kiosk.Host.Gallery;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Kiosk.Host.Storage.Sql;

namespace Kiosk.Host.Events;

/// <summary>
/// The kiosk's event log and outbox: every grant, denial, unknown face, door alarm and source failure is appended
/// here first and acted on after, so it survives a crash and can be handed on (to MQTT) later, in order.
/// </summary>
/// <remarks>
/// <para>File: its own SQLite database (events.db beside gallery.db, see <see cref="EventStoreOptions"/>), created
/// owner-only (0600: names, and face images when <see cref="EventStoreOptions.KeepSnapshots"/> is on). Schema in
/// <see cref="EventSchema"/>; times are Unix milliseconds (UTC).</para>
/// <para>Durability: WAL with <c>synchronous=FULL</c> on the connection, so every commit, each
/// <see cref="Append"/> included, is on the disk (the WAL fsynced) when the call returns: a returned Append
/// survives a crash and a power cut.</para>
/// <para>Order and idempotence: <see cref="StoredEvent.Sequence"/> is SQLite's AUTOINCREMENT rowid, strictly
/// increasing in append order and never reused, also after pruning. The event id is unique: appending an id
/// already stored changes nothing and returns the stored sequence, so a retried append cannot double an event.</para>
/// <para>Thread safety: one connection per store, guarded by a lock inside, so any thread may call any member;
/// calls run one at a time. Other processes (the CLI beside the service) may open the same file: WAL lets them
/// read while one writes, and a writer waits up to 30 s for another.</para>
/// </remarks>
public sealed class EventStore : IDisposable
{
    private const int BusyTimeoutSeconds = 30;

    private const string Columns =
        "e.seq, e.id, e.kind, e.occurred_utc, e.person_id, e.person_name, e.score, e.tier, e.detail, e.sent, e.person_uid";

    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;
    private readonly EventStoreOptions _options;
    private readonly ILogger _log;
    private readonly string _path;
    private bool _overCap;
    private bool _disposed;

    /// <summary>The schema version of the file (after the migrations Open applied): <see cref="EventSchema.CurrentVersion"/>.</summary>
    public int SchemaVersion { get; private set; }

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => _path;

    private EventStore(SqliteConnection db, EventStoreOptions options, string path, ILogger log)
    {
        _db = db;
        _options = options;
        _path = path;
        _log = log;
    }

    /// <summary>Opens the event log, creating the file and its schema on the first run and migrating an older schema.</summary>
    /// <exception cref="SettingsException">The options are invalid (the message names the key).</exception>
    /// <exception cref="EventStoreException">The file is not an event log (the gallery, say), is damaged, or has a newer schema than this program.</exception>
    public static EventStore Open(EventStoreOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var log = logger ?? NullLogger.Instance;
        string path = Path.GetFullPath(options.DatabasePath);
        bool exists = File.Exists(path) || File.Exists(path + "-wal");
        SqliteConnection? db = null;
        try
        {
            if (!exists) CreateFile(path);
            db = Connect(path);
            var store = new EventStore(db, options, path, log);
            store.Initialize();
            Log.EventStoreOpened(log, path, store.SchemaVersion, store.Count, store.UnsentCount);
            return store;
        }
        catch (SqliteException e)
        {
            db?.Dispose();
            throw new EventStoreException($"the event log {path} cannot be opened: {e.Message}", e);
        }
        catch
        {
            db?.Dispose();
            throw;
        }
    }

    /// <summary>The empty file made by us rather than SQLite, so it is 0600 from the start; SQLite gives the -wal
    /// and -shm files the database file's mode.</summary>
    private static void CreateFile(string path)
    {
        try
        {
            GalleryKeyFile.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
            using var _ = new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it in the meantime; SQLite's locking takes it from here.
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EventStoreException($"the event log {path} cannot be created: {e.Message}", e);
        }
    }

    private static SqliteConnection Connect(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite, // the file exists by now
            Pooling = false,                 // Dispose really closes the file
            DefaultTimeout = BusyTimeoutSeconds,
        }.ToString());
        try
        {
            db.Open();
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>WAL and the pragmas; only once the file is known to be ours (switching to WAL rewrites the header).</summary>
    private void Configure()
    {
        string? mode = Scalar<string>(_db, null, "PRAGMA journal_mode=WAL");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new EventStoreException($"the event log {_path} cannot use write-ahead logging (journal mode stays '{mode}'); is it on a network file system?");
        // FULL: the WAL is fsynced at every commit, so no returned Append is lost on power loss.
        // secure_delete: pruned snapshots (face images) are zeroed in the file, not just unlinked.
        Execute(_db, null, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;");
    }

    private void Initialize()
    {
        int version = ReadSchemaVersion(null);
        CheckNotNewer(version);
        Configure();
        if (version < EventSchema.CurrentVersion) BeforeMigrationsForTests?.Invoke(_path);
        foreach (var m in EventSchema.Migrations)
        {
            if (m.Version <= version) continue;
            using (var tx = _db.BeginTransaction())
            {
                // Read again under the write lock: another process (the service and the CLI starting together on a
                // new file) may have migrated since the read above.
                int now = ReadSchemaVersion(tx);
                CheckNotNewer(now);
                if (now >= m.Version)
                {
                    version = now;
                    continue;
                }
                Execute(_db, tx, m.Sql);
                if (m.Version == 1)
                    Execute(_db, tx, "INSERT INTO meta(key, value) VALUES ('store', $s), ('schema_version', 1)", ("$s", EventSchema.StoreMarker));
                else
                    Execute(_db, tx, "UPDATE meta SET value = $v WHERE key = 'schema_version'", ("$v", m.Version));
                tx.Commit();
            }
            if (version > 0) Log.EventStoreMigrated(_log, _path, version, m.Version, m.Description);
            version = m.Version;
        }
        SchemaVersion = version;
    }

    /// <summary>Called with the path between reading the schema version and migrating, for the test of two openers racing.</summary>
    internal static Action<string>? BeforeMigrationsForTests;

    private void CheckNotNewer(int version)
    {
        if (version > EventSchema.CurrentVersion)
            throw new EventStoreException(
                $"the event log {_path} has schema version {version}, newer than this program understands ({EventSchema.CurrentVersion}); " +
                "it was written by a newer kiosk version: update this one (the file was not changed)");
    }

    /// <summary>0 for an empty file; refuses a database that is not an event log (the gallery's file, say).</summary>
    private int ReadSchemaVersion(SqliteTransaction? tx)
    {
        bool hasMeta = Scalar<long>(_db, tx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'") > 0;
        if (!hasMeta)
        {
            if (Scalar<long>(_db, tx, "SELECT count(*) FROM sqlite_master") > 0)
                throw new EventStoreException($"{_path} is an SQLite database but not a kiosk event log (it has no meta table)");
            return 0;
        }
        if (ScalarObject(_db, tx, "SELECT value FROM meta WHERE key = 'store'") as string != EventSchema.StoreMarker)
            throw new EventStoreException(
                $"{_path} is an SQLite database but not a kiosk event log (is Events:DatabasePath the gallery's file?); it was not changed");
        object? value = ScalarObject(_db, tx, "SELECT value FROM meta WHERE key = 'schema_version'");
        return value is long v and > 0 and < int.MaxValue
            ? (int)v
            : throw new EventStoreException($"the event log {_path} is damaged: its schema version is missing or invalid");
    }

    // ---------------------------------------------------------------- writing

    /// <summary>
    /// Stores an event, durably: when this returns, the event is on the disk. Its snapshot is stored only when
    /// <see cref="EventStoreOptions.KeepSnapshots"/> is on (the oldest beyond <see cref="EventStoreOptions.SnapshotRetention"/>
    /// are deleted). Beyond <see cref="EventStoreOptions.MaxUnsentEvents"/> events the oldest sent ones are deleted in
    /// the same transaction; unsent ones never are.
    /// </summary>
    /// <returns>The event's sequence; for an id already stored, the stored event's (nothing is written then).</returns>
    /// <exception cref="ArgumentException">The event is invalid (the message names the field).</exception>
    /// <exception cref="EventStoreException">SQLite refused: disk full, busy beyond 30 s, a damaged file.</exception>
    public long Append(KioskEvent e)
    {
        Check(e);
        string id = e.Id.ToString("D");
        long occurred = e.OccurredUtc.ToUnixTimeMilliseconds();
        bool added = false;
        long sequence = Write("append an event", tx =>
        {
            using (var find = Command(_db, tx, "SELECT seq, kind, occurred_utc FROM events WHERE id = $id", ("$id", id)))
            using (var r = find.ExecuteReader())
            {
                if (r.Read())
                {
                    long stored = r.GetInt64(0);
                    var storedKind = ParseKind(r.GetString(1), stored);
                    long storedTime = r.GetInt64(2);
                    if (storedKind != e.Kind || storedTime != occurred)
                        Log.EventIdReused(_log, e.Id, storedKind, DateTimeOffset.FromUnixTimeMilliseconds(storedTime), e.Kind, e.OccurredUtc);
                    return stored;
                }
            }

            long seq = Scalar<long>(_db, tx, """
                INSERT INTO events(id, kind, occurred_utc, person_id, person_name, score, tier, detail, person_uid)
                VALUES ($id, $kind, $t, $pid, $pname, $score, $tier, $detail, $puid) RETURNING seq
                """,
                ("$id", id), ("$kind", e.Kind.ToString()), ("$t", occurred), ("$pid", e.PersonId), ("$pname", e.PersonName), ("$puid", e.PersonUid),
                ("$score", e.Score is float s ? (double)s : null), ("$tier", e.Tier), ("$detail", e.Detail));
            if (_options.KeepSnapshots && e.SnapshotJpeg is { Length: > 0 } jpeg)
            {
                Execute(_db, tx, "INSERT INTO snapshots(seq, jpeg) VALUES ($s, $j)", ("$s", seq), ("$j", jpeg));
                Execute(_db, tx, "DELETE FROM snapshots WHERE seq IN (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT -1 OFFSET $keep)",
                    ("$keep", _options.SnapshotRetention));
            }
            EnforceCap(tx);
            added = true;
            return seq;
        });
        if (added) RaiseAppended(sequence);
        return sequence;
    }

    /// <summary>
    /// Raised after <see cref="Append"/> committed a new event (not for an id already stored), with its sequence, on
    /// the appending thread and outside the store's lock. Handlers must be quick (the appender waits for them); one
    /// that throws is logged and does not fail the append. Appends by other processes raise nothing here.
    /// </summary>
    public event Action<long>? Appended;

    private void RaiseAppended(long sequence)
    {
        try
        {
            Appended?.Invoke(sequence);
        }
        catch (Exception e)
        {
            // The event is on the disk: the appender must not see a failure and append it again.
            Log.EventStoreAppendedHandlerFailed(_log, sequence, e);
        }
    }

    private static void Check(KioskEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.Id == Guid.Empty) throw new ArgumentException("KioskEvent.Id is empty; make one with Guid.NewGuid()", nameof(e));
        if (!Enum.IsDefined(e.Kind)) throw new ArgumentException($"KioskEvent.Kind {(int)e.Kind} is not an EventKind", nameof(e));
        if (e.Detail is null) throw new ArgumentException("KioskEvent.Detail is null; use \"\" for none", nameof(e));
        if (e.Score is float s && !float.IsFinite(s)) throw new ArgumentException($"KioskEvent.Score is {s}; it must be a finite number", nameof(e));
        if (e.SnapshotJpeg is { Length: > 0 } j && (j.Length < 3 || j[0] != 0xFF || j[1] != 0xD8 || j[2] != 0xFF))
            throw new ArgumentException("KioskEvent.SnapshotJpeg is not a JPEG (it does not start with FF D8 FF)", nameof(e));
    }

    /// <summary>Deletes the oldest sent events beyond the cap; warns once when unsent ones alone exceed it.</summary>
    private void EnforceCap(SqliteTransaction tx)
    {
        long max = _options.MaxUnsentEvents;
        long count = ReadCounter(tx, "events");
        if (count > max)
        {
            using var cmd = Command(_db, tx, """
                DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE sent = 1 ORDER BY seq LIMIT $n) RETURNING seq
                """, ("$n", count - max));
            int deleted = 0;
            long upTo = 0;
            using (var r = cmd.ExecuteReader())
                while (r.Read()) { deleted++; upTo = Math.Max(upTo, r.GetInt64(0)); }
            if (deleted > 0) Log.EventStorePruned(_log, deleted, upTo, max);
            count -= deleted;
        }
        if (count > max && !_overCap)
        {
            _overCap = true;
            Log.EventStoreOverCap(_log, _path, ReadCounter(tx, "unsent"), max);
        }
        else if (count <= max && _overCap)
        {
            _overCap = false;
            Log.EventStoreBackUnderCap(_log, _path, count, max);
        }
    }

    /// <summary>Marks every event up to and including <paramref name="upToSequenceInclusive"/> as handed on.</summary>
    /// <returns>How many events were newly marked.</returns>
    public int MarkSent(long upToSequenceInclusive) => Write("mark events sent", tx =>
        Execute(_db, tx, "UPDATE events SET sent = 1 WHERE sent = 0 AND seq <= $s", ("$s", upToSequenceInclusive)));

    /// <summary>Marks these events as handed on, in one transaction; unknown sequences are ignored.</summary>
    /// <returns>How many events were newly marked.</returns>
    public int MarkSent(IEnumerable<long> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        long[] list = [.. sequences];
        if (list.Length == 0) return 0;
        return Write("mark events sent", tx =>
        {
            using var cmd = Command(_db, tx, "UPDATE events SET sent = 1 WHERE sent = 0 AND seq = $s", ("$s", 0L));
            var p = cmd.Parameters["$s"];
            int marked = 0;
            foreach (long s in list)
            {
                p.Value = s;
                marked += cmd.ExecuteNonQuery();
            }
            return marked;
        });
    }

    // ---------------------------------------------------------------- reading

    /// <summary>The oldest events not yet handed on, in sequence order, with their snapshots: the outbox.</summary>
    public IReadOnlyList<StoredEvent> Unsent(int max) => Unsent(0, max);

    /// <summary>
    /// The oldest events not yet handed on after <paramref name="afterSequence"/>, in sequence order, with their
    /// snapshots: the outbox past what a publisher already has in flight.
    /// </summary>
    public IReadOnlyList<StoredEvent> Unsent(long afterSequence, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        return Read("read unsent events", () => ReadEvents(null, "WHERE e.sent = 0 AND e.seq > $after ORDER BY e.seq LIMIT $max",
            withSnapshots: true, ("$after", afterSequence), ("$max", max)));
    }

    /// <summary>
    /// Events that occurred in [<paramref name="fromUtc"/>, <paramref name="toUtc"/>) (from inclusive, to exclusive,
    /// at millisecond precision), optionally of one kind, by time of occurrence (then sequence). Snapshots only
    /// when asked for.
    /// </summary>
    public IReadOnlyList<StoredEvent> Query(DateTimeOffset fromUtc, DateTimeOffset toUtc, EventKind? kind = null, bool withSnapshots = false)
    {
        string where = "WHERE e.occurred_utc >= $from AND e.occurred_utc < $to" + (kind is null ? "" : " AND e.kind = $kind");
        return Read("query events", () => ReadEvents(null, where + " ORDER BY e.occurred_utc, e.seq", withSnapshots,
            ("$from", fromUtc.ToUnixTimeMilliseconds()), ("$to", toUtc.ToUnixTimeMilliseconds()), ("$kind", kind?.ToString())));
    }

    /// <summary>The last <paramref name="max"/> events appended, in sequence order (for <c>events tail</c>).</summary>
    public IReadOnlyList<StoredEvent> Latest(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        return Read("read the latest events", () =>
            ReadEvents(null, "WHERE e.seq IN (SELECT seq FROM events ORDER BY seq DESC LIMIT $max) ORDER BY e.seq", false, ("$max", max)));
    }

    /// <summary>Events appended after <paramref name="sequence"/>, in sequence order, at most <paramref name="max"/>.</summary>
    public IReadOnlyList<StoredEvent> After(long sequence, int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        return Read("read events", () => ReadEvents(null, "WHERE e.seq > $s ORDER BY e.seq LIMIT $max", false, ("$s", sequence), ("$max", max)));
    }

    /// <summary>The stored snapshot of one event, or null (none kept, or pruned).</summary>
    public byte[]? Snapshot(long sequence) =>
        Read("read a snapshot", () => ScalarObject(_db, null, "SELECT jpeg FROM snapshots WHERE seq = $s", ("$s", sequence)) as byte[]);

    /// <summary>Events stored (sent and unsent). Kept by a trigger, so reading it costs nothing and sees other processes' writes.</summary>
    public long Count => Read("count events", () => ReadCounter(null, "events"));

    /// <summary>Events not yet handed on.</summary>
    public long UnsentCount => Read("count unsent events", () => ReadCounter(null, "unsent"));

    /// <summary>Snapshots stored.</summary>
    public long SnapshotCount => Read("count snapshots", () => Scalar<long>(_db, null, "SELECT count(*) FROM snapshots"));

    // ---------------------------------------------------------------- internals

    private long ReadCounter(SqliteTransaction? tx, string key) =>
        ScalarObject(_db, tx, "SELECT value FROM meta WHERE key = $k", ("$k", key)) is long v
            ? v
            : throw new EventStoreException($"the event log {_path} is damaged: its '{key}' counter is missing");

    private List<StoredEvent> ReadEvents(SqliteTransaction? tx, string whereAndOrder, bool withSnapshots, params (string, object?)[] parameters)
    {
        string sql = withSnapshots
            ? $"SELECT {Columns}, s.jpeg FROM events e LEFT JOIN snapshots s ON s.seq = e.seq {whereAndOrder}"
            : $"SELECT {Columns} FROM events e {whereAndOrder}";
        var list = new List<StoredEvent>();
        using var cmd = Command(_db, tx, sql, parameters);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            long seq = r.GetInt64(0);
            if (!Guid.TryParseExact(r.GetString(1), "D", out var id))
                throw new EventStoreException($"event {seq} in {_path} is damaged: its id '{r.GetString(1)}' is not a uuid");
            var e = new KioskEvent(id, ParseKind(r.GetString(2), seq), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)),
                r.IsDBNull(4) ? null : r.GetInt64(4),
                r.IsDBNull(5) ? null : r.GetString(5),
                r.IsDBNull(6) ? null : (float)r.GetDouble(6),
                r.IsDBNull(7) ? null : r.GetString(7),
                r.GetString(8),
                withSnapshots && !r.IsDBNull(11) ? (byte[])r.GetValue(11) : null) { PersonUid = r.IsDBNull(10) ? null : r.GetString(10) };
            list.Add(new StoredEvent(seq, e, r.GetInt64(9) != 0));
        }
        return list;
    }

    private EventKind ParseKind(string text, long seq) =>
        text.Length > 0 && char.IsAsciiLetter(text[0]) && Enum.TryParse<EventKind>(text, ignoreCase: false, out var kind) && Enum.IsDefined(kind)
            ? kind
            : throw new EventStoreException(
                $"event {seq} in {_path} has kind '{text}', which this program does not know: written by a newer kiosk version, or damaged");

    /// <summary>A read (or a statement outside a transaction) under the lock, SQLite failures as EventStoreException.</summary>
    private T Read<T>(string what, Func<T> body)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                return body();
            }
            catch (SqliteException e)
            {
                throw new EventStoreException($"the event log {_path} could not {what}: {e.Message}", e);
            }
        }
    }

    /// <summary>One write transaction (BEGIN IMMEDIATE) under the lock: committed when the body returns, rolled back when it throws.</summary>
    private T Write<T>(string what, Func<SqliteTransaction, T> body) => Read(what, () =>
    {
        using var tx = _db.BeginTransaction();
        T result = body(tx);
        tx.Commit();
        return result;
    });

    /// <summary>A pragma's value on this store's connection, for tests.</summary>
    internal object? Pragma(string name) => Read("read a pragma", () => ScalarObject(_db, null, $"PRAGMA {name}"));

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _db.Dispose();
        }
    }
}
