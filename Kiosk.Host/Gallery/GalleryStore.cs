using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Kiosk.Host.Storage.Sql;

namespace Kiosk.Host.Gallery;

/// <summary>
/// The kiosk's memory of who may enter: people and their face templates in one SQLite file, vectors and crops
/// encrypted with AES-256-GCM (see <see cref="GalleryCipher"/>), names and other metadata in clear for listing.
/// </summary>
/// <remarks>
/// <para>Thread safety: one connection per store, guarded by a lock inside, so any thread may call any member;
/// calls run one at a time. Other processes (the CLI beside the service) may open the same file: SQLite's WAL
/// mode lets them read while one writes, and a writer waits up to 30 s for another.</para>
/// <para>Durability: WAL with <c>synchronous=FULL</c>, so a returned Enroll survives a power cut. Every change is
/// one transaction; <see cref="Revision"/> goes up by one per committed change.</para>
/// <para>Deletion: <c>secure_delete</c> zeroes deleted rows in the database pages; <see cref="Vacuum"/> then
/// checkpoints and truncates the WAL and rebuilds the file, so the deleted bytes are in neither file.</para>
/// </remarks>
public sealed class GalleryStore : IDisposable
{
    private const int BusyTimeoutSeconds = 30;
    private const long MaxExportBytes = 1L << 30;

    private readonly Lock _gate = new();
    private readonly SqliteConnection _db;
    private readonly GalleryCipher _cipher;
    private readonly GalleryOptions _options;
    private readonly ILogger _log;
    private readonly string _path;
    private bool _disposed;

    /// <summary>The schema version of the file (after the migrations Open applied): <see cref="GallerySchema.CurrentVersion"/>.</summary>
    public int SchemaVersion { get; private set; }

    /// <summary>The gallery's change counter: up by one with every committed change, never down. Read from the file,
    /// so it also sees other processes' changes.</summary>
    public long Revision => Read("read the revision", () => ReadRevision(null));

    private GalleryStore(SqliteConnection db, GalleryCipher cipher, GalleryOptions options, string path, ILogger log)
    {
        _db = db;
        _cipher = cipher;
        _options = options;
        _path = path;
        _log = log;
    }

    /// <summary>
    /// Opens the gallery, creating the file, its schema and its key on the first run, and migrating an older schema.
    /// The key comes from <c>KIOSK_GALLERY_KEY</c> (base64 of 32 bytes) or the key file (the same, one line, mode
    /// 0600); see <see cref="GalleryKeyFile"/>.
    /// </summary>
    /// <exception cref="SettingsException">The options are invalid (the message names the key).</exception>
    /// <exception cref="GalleryKeyException">The key is missing for an existing gallery, malformed, readable by others, or wrong.</exception>
    /// <exception cref="GalleryException">The file is not a gallery, is damaged, or has a newer schema than this program.</exception>
    public static GalleryStore Open(GalleryOptions options, ILogger? logger = null) =>
        Open(options, logger, Environment.GetEnvironmentVariable);

    /// <summary>Open with the environment as a function: tests pass their own instead of changing the process's.</summary>
    internal static GalleryStore Open(GalleryOptions options, ILogger? logger, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The key's protection is a Unix file mode; the kiosk runs on Linux only.
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the gallery needs Unix file modes to protect its key");
        options.Validate();
        var log = logger ?? NullLogger.Instance;
        string path = Path.GetFullPath(options.DatabasePath);
        // A WAL left without its database can hold a whole gallery (SQLite replays it), so it counts: never a new key then.
        bool exists = File.Exists(path) || File.Exists(path + "-wal");
        var (key, keySource) = GalleryKeyFile.Obtain(Path.GetFullPath(options.KeyPath), path, exists, environment, log);
        GalleryCipher cipher;
        try
        {
            cipher = new GalleryCipher(key);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }

        SqliteConnection? db = null;
        try
        {
            if (!exists) CreateFile(path);
            db = Connect(path);
            var store = new GalleryStore(db, cipher, options, path, log);
            store.Initialize(keySource);
            Log.GalleryOpened(log, path, store.SchemaVersion, keySource);
            return store;
        }
        catch (SqliteException e)
        {
            db?.Dispose();
            cipher.Dispose();
            throw new GalleryException($"the gallery {path} cannot be opened: {e.Message}", e);
        }
        catch
        {
            db?.Dispose();
            cipher.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The empty file made by us rather than SQLite, so it is 0600 from the start (names are in it); SQLite gives
    /// the -wal and -shm files the database file's mode.
    /// </summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void CreateFile(string path)
    {
        try
        {
            string directory = Path.GetDirectoryName(path)!;
            GalleryKeyFile.CreatePrivateDirectory(directory);
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
            throw new GalleryException($"the gallery file {path} cannot be created: {e.Message}", e);
        }
    }

    private static SqliteConnection Connect(string path)
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWrite, // the file exists by now; never let SQLite make a key-less one
            Pooling = false,                 // Dispose really closes the file
            DefaultTimeout = BusyTimeoutSeconds,
        }.ToString());
        try
        {
            db.Open();
            string? mode = Scalar<string>(db, null, "PRAGMA journal_mode=WAL");
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
                throw new GalleryException($"the gallery {path} cannot use write-ahead logging (journal mode stays '{mode}'); is it on a network file system?");
            Execute(db, null, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON;");
            return db;
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    private void Initialize(string keySource)
    {
        int version = ReadSchemaVersion();
        int current = GallerySchema.CurrentVersion;
        if (version > current)
            throw new GalleryException(
                $"the gallery {_path} has schema version {version}, newer than this program understands ({current}); " +
                "it was written by a newer kiosk version: update this one (the file was not changed)");
        if (version > 0) CheckKey(keySource);
        for (int i = 0; i < GallerySchema.Migrations.Length; i++)
        {
            var m = GallerySchema.Migrations[i];
            if (m.Version <= version) continue;
            using (var tx = _db.BeginTransaction())
            {
                Execute(_db, tx, m.Sql);
                if (m.Version == 1)
                {
                    // A new gallery: the key check goes in with the first table, so no file exists without one.
                    Execute(_db, tx, "INSERT INTO meta(key, value) VALUES ('key_check', $v)",
                        ("$v", _cipher.Seal(GalleryCipher.KeyCheckPlaintext, GalleryCipher.KeyCheckAad)));
                    Execute(_db, tx, "INSERT INTO meta(key, value) VALUES ('schema_version', 1)");
                }
                else
                {
                    Execute(_db, tx, "UPDATE meta SET value = $v WHERE key = 'schema_version'", ("$v", m.Version));
                }
                tx.Commit();
            }
            if (version > 0) Log.GalleryMigrated(_log, _path, version, m.Version, m.Description);
            version = m.Version;
        }
        SchemaVersion = version;
    }

    /// <summary>0 for an empty file; refuses a database that is not a gallery.</summary>
    private int ReadSchemaVersion()
    {
        bool hasMeta = Scalar<long>(_db, null, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'") > 0;
        if (!hasMeta)
        {
            if (Scalar<long>(_db, null, "SELECT count(*) FROM sqlite_master") > 0)
                throw new GalleryException($"{_path} is an SQLite database but not a kiosk gallery (it has no meta table)");
            return 0;
        }
        object? value = ScalarObject(_db, null, "SELECT value FROM meta WHERE key = 'schema_version'");
        return value is long v and > 0 and < int.MaxValue
            ? (int)v
            : throw new GalleryException($"the gallery {_path} is damaged: its schema version is missing or invalid");
    }

    private void CheckKey(string keySource)
    {
        if (ScalarObject(_db, null, "SELECT value FROM meta WHERE key = 'key_check'") is not byte[] check)
            throw new GalleryException($"the gallery {_path} is damaged: its key check is missing");
        byte[]? plain = _cipher.TryOpen(check, GalleryCipher.KeyCheckAad);
        if (plain is null || !plain.AsSpan().SequenceEqual(GalleryCipher.KeyCheckPlaintext))
            throw new GalleryKeyException(
                $"the key at {keySource} does not open this gallery ({_path}); it belongs to another gallery, or the gallery's own key was replaced");
    }

    // ---------------------------------------------------------------- people

    /// <summary>
    /// Adds a person with their templates (and crops) in one transaction: all of it or nothing. Beyond
    /// <see cref="GalleryOptions.MaxTemplatesPerPerson"/> templates of one model the lowest-quality ones are dropped.
    /// </summary>
    /// <exception cref="ArgumentException">No templates, or a field is invalid (the message names it).</exception>
    /// <exception cref="GalleryException">The ExternalId is taken, or a vector's length differs from its model's.</exception>
    /// <param name="uid">The person's site-wide id (a UUID) when the caller has one (e.g. the site's management system);
    /// null: a new one. A uid deleted before comes back with a site revision above its tombstone's.</param>
    /// <exception cref="GalleryException">The uid is already someone's.</exception>
    public Person Enroll(PersonDraft person, IReadOnlyList<TemplateDraft> templates, string? uid = null)
    {
        var p = GalleryValidation.Normalize(person, nameof(person));
        string u = uid is null ? NewUid() : NormalizeUid(uid);
        CheckTemplates(templates);
        return Write("enroll", tx =>
        {
            long revision = BumpRevision(tx);
            CheckExternalIdFree(tx, p.ExternalId, exceptPersonId: null);
            if (Scalar<long?>(_db, tx, "SELECT id FROM people WHERE uid = $u", ("$u", u)) is long taken)
                throw new GalleryException($"person id {u} is already person {taken}'s");
            long siteRevision = 1 + (Scalar<long?>(_db, tx, "DELETE FROM tombstones WHERE uid = $u RETURNING site_revision", ("$u", u)) ?? 0);
            long id = InsertPerson(tx, p, DateTimeOffset.UtcNow, revision, u, siteRevision);
            InsertTemplates(tx, id, templates);
            return ReadPerson(tx, id)!;
        });
    }

    /// <summary>
    /// Adds templates to a person in one transaction, then keeps the best <see cref="GalleryOptions.MaxTemplatesPerPerson"/>
    /// per model (highest quality; the newer on a tie), which may drop new and older ones alike.
    /// </summary>
    /// <returns>The templates of this call that were kept, in the order given: a draft missing from it was dropped.
    /// Older templates dropped to make room are logged; <see cref="TemplatesOf"/> shows what the person has.</returns>
    public IReadOnlyList<StoredTemplate> AddTemplates(long personId, IReadOnlyList<TemplateDraft> templates)
    {
        CheckTemplates(templates);
        return Write("add templates", tx =>
        {
            RequirePerson(tx, personId);
            long revision = BumpRevision(tx);
            Execute(_db, tx, "UPDATE people SET revision = $r, site_revision = site_revision + 1 WHERE id = $id", ("$r", revision), ("$id", personId));
            return InsertTemplates(tx, personId, templates);
        });
    }

    public Person? GetPerson(long id) => Read("read a person", () =>
    {
        using var tx = _db.BeginTransaction(deferred: true);
        return ReadPerson(tx, id);
    });

    public Person? FindByExternalId(string externalId)
    {
        ArgumentNullException.ThrowIfNull(externalId);
        return Read("find a person", () =>
        {
            using var tx = _db.BeginTransaction(deferred: true);
            return Scalar<long?>(_db, tx, "SELECT id FROM people WHERE external_id = $e", ("$e", externalId.Trim())) is long id
                ? ReadPerson(tx, id)
                : null;
        });
    }

    /// <summary>The person with this site-wide id, or null (also for a malformed id).</summary>
    public Person? FindByUid(string uid)
    {
        ArgumentNullException.ThrowIfNull(uid);
        if (!Guid.TryParse(uid, out var g)) return null;
        return Read("find a person", () =>
        {
            using var tx = _db.BeginTransaction(deferred: true);
            return Scalar<long?>(_db, tx, "SELECT id FROM people WHERE uid = $u", ("$u", g.ToString("D"))) is long id ? ReadPerson(tx, id) : null;
        });
    }

    /// <summary>A new site-wide person id.</summary>
    public static string NewUid() => Guid.NewGuid().ToString("D");

    /// <summary>A site-wide person id in its one stored form (a UUID, lower case, with hyphens).</summary>
    /// <exception cref="ArgumentException">not a UUID</exception>
    public static string NormalizeUid(string uid) =>
        Guid.TryParse(uid, out var g) && g != Guid.Empty ? g.ToString("D") : throw new ArgumentException($"person id '{uid}' is not a UUID", nameof(uid));

    /// <summary>Everyone, by id.</summary>
    public IReadOnlyList<Person> ListPeople() => Read("list people", () =>
    {
        using var tx = _db.BeginTransaction(deferred: true);
        return ReadPeople(tx, "", []);
    });

    /// <summary>Replaces a person's fields with <paramref name="changes"/> (the whole new state; templates untouched).</summary>
    /// <exception cref="GalleryException">No such person, or the ExternalId is another person's.</exception>
    public Person UpdatePerson(long id, PersonDraft changes)
    {
        var p = GalleryValidation.Normalize(changes, nameof(changes));
        return Write("update a person", tx =>
        {
            RequirePerson(tx, id);
            CheckExternalIdFree(tx, p.ExternalId, exceptPersonId: id);
            long revision = BumpRevision(tx);
            UpdateFields(tx, id, p, revision);
            return ReadPerson(tx, id)!;
        });
    }

    /// <summary>Deletes the person, their templates and crops (the rows, zeroed by secure_delete). Follow with
    /// <see cref="Vacuum"/> to get the bytes out of the WAL and the free pages too.</summary>
    /// <returns>False when there was no such person.</returns>
    public bool RemovePerson(long id) => Write("remove a person", tx =>
    {
        using (var cmd = Command(_db, tx, "DELETE FROM people WHERE id = $id RETURNING uid, site_revision", ("$id", id)))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read()) return false;
            // The tombstone outranks every copy of the person the fleet may still hold.
            Tombstone(tx, r.GetString(0), r.GetInt64(1) + 1, published: false);
        }
        BumpRevision(tx);
        return true;
    });

    private void Tombstone(SqliteTransaction tx, string uid, long siteRevision, bool published, DateTimeOffset? deletedUtc = null) =>
        Execute(_db, tx, """
            INSERT INTO tombstones(uid, site_revision, deleted_utc, published) VALUES ($u, $r, $t, $p)
            ON CONFLICT(uid) DO UPDATE SET site_revision = excluded.site_revision, deleted_utc = excluded.deleted_utc, published = excluded.published
            """, ("$u", uid), ("$r", siteRevision), ("$t", (deletedUtc ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds()), ("$p", published));

    /// <summary>
    /// Checkpoints and truncates the WAL, rebuilds the file without free pages, and truncates the WAL again: the
    /// deleted data is then in neither file. (Blocks the file system freed may still hold old bytes on disk.)
    /// </summary>
    /// <exception cref="GalleryException">Another process was reading, so the WAL could not be emptied; try again.</exception>
    public void Vacuum() => Read("vacuum", () =>
    {
        CheckpointCore();
        Execute(_db, null, "VACUUM");
        CheckpointCore();
        return 0;
    });

    /// <summary>Copies the WAL into the database file and truncates it (without rebuilding), for tests.</summary>
    internal void Checkpoint() => Read("checkpoint", () => { CheckpointCore(); return 0; });

    private void CheckpointCore()
    {
        using var cmd = Command(_db, null, "PRAGMA wal_checkpoint(TRUNCATE)");
        using var r = cmd.ExecuteReader();
        if (r.Read() && r.GetInt64(0) != 0)
            throw new GalleryException($"the gallery {_path}'s write-ahead log cannot be emptied now: another process is using the gallery; deleted data stays in {_path}-wal until this succeeds");
    }

    // ---------------------------------------------------------------- templates and crops

    /// <summary>Every template of one model (name and hash both match), decrypted, by id; for building the
    /// in-memory index. People are not filtered: check <see cref="Person.Enabled"/> and validity at match time.</summary>
    /// <exception cref="GalleryException">A blob does not decrypt: the file was altered (rows swapped) or damaged.</exception>
    public IReadOnlyList<StoredTemplate> LoadTemplates(string modelName, string modelHash)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(modelHash);
        return Read("load templates", () => ReadTemplates(null, "WHERE model_name = $m AND model_hash = $h", ("$m", modelName), ("$h", modelHash)));
    }

    /// <summary>A person's templates of every model, decrypted, by id.</summary>
    public IReadOnlyList<StoredTemplate> TemplatesOf(long personId) =>
        Read("load templates", () => ReadTemplates(null, "WHERE person_id = $p", ("$p", personId)));

    /// <summary>Every stored crop, decrypted, by template id.</summary>
    public IReadOnlyList<StoredCrop> LoadCrops() => Read("load crops", () => ReadCrops(null, ""));

    /// <summary>
    /// People with no template of this model: who needs re-embedding. With <paramref name="withoutCrops"/>, only those
    /// of them who also have no stored crop at all, so cannot be re-embedded: who needs new photos.
    /// </summary>
    public IReadOnlyList<Person> PeopleWithoutTemplatesFor(string modelName, string modelHash, bool withoutCrops)
    {
        ArgumentNullException.ThrowIfNull(modelName);
        ArgumentNullException.ThrowIfNull(modelHash);
        string where = """
            WHERE NOT EXISTS (SELECT 1 FROM templates t WHERE t.person_id = p.id AND t.model_name = $m AND t.model_hash = $h)
            """;
        if (withoutCrops)
            where += " AND NOT EXISTS (SELECT 1 FROM templates t JOIN crops c ON c.template_id = t.id WHERE t.person_id = p.id)";
        return Read("find people without templates", () =>
        {
            using var tx = _db.BeginTransaction(deferred: true);
            return ReadPeople(tx, where, [("$m", modelName), ("$h", modelHash)]);
        });
    }

    // ---------------------------------------------------------------- export and import

    /// <summary>
    /// Writes everyone, with templates and crops, encrypted under <paramref name="passphrase"/> (PBKDF2-SHA256,
    /// <see cref="GalleryExport.Iterations"/> iterations, random salt; AES-256-GCM), for moving a gallery to another kiosk.
    /// </summary>
    /// <exception cref="ArgumentException">The passphrase is shorter than <see cref="GalleryExport.MinPassphraseLength"/> characters.</exception>
    public void Export(Stream destination, string passphrase)
    {
        ArgumentNullException.ThrowIfNull(destination);
        GalleryExport.CheckPassphrase(passphrase);
        var document = Read("export", () =>
        {
            using var tx = _db.BeginTransaction(deferred: true);
            var crops = ReadCrops(tx, "").ToDictionary(c => c.TemplateId, c => c.Crop);
            var templates = ReadTemplates(tx, "").ToLookup(t => t.PersonId);
            var people = ReadPeople(tx, "", []).Select(p => new GalleryExport.PersonEntry(
                p.Name, p.ExternalId, [.. p.Groups], p.ValidFrom, p.ValidUntil, p.Enabled, p.CreatedUtc,
                [.. templates[p.Id].Select(t => new GalleryExport.TemplateEntry(t.ModelName, t.ModelHash, t.Vector, t.Quality,
                    t.Source, t.CreatedUtc, crops.TryGetValue(t.Id, out var c) ? new GalleryExport.CropEntry(c.Image, c.Points, c.Box) : null))]));
            return new GalleryExport.Document(GalleryExport.DocumentFormat, DateTimeOffset.UtcNow, [.. people]);
        });
        GalleryExport.Write(destination, document, passphrase);
    }

    /// <summary>
    /// Reads an <see cref="Export"/> file into this gallery in one transaction. A person whose ExternalId is already
    /// here is updated (fields replaced, templates added except ones already present); everyone else is added.
    /// </summary>
    /// <exception cref="GalleryException">Wrong passphrase, or a damaged or invalid file; nothing was changed.</exception>
    public ImportResult Import(Stream source, string passphrase)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(passphrase);
        var document = GalleryExport.Read(source, passphrase, MaxExportBytes);
        var entries = new List<(GalleryValidation.NormalizedPerson Person, DateTimeOffset Created, List<(TemplateDraft Draft, DateTimeOffset Created)> Templates)>();
        foreach (var e in document.People ?? [])
        {
            try
            {
                if (e is null) throw new ArgumentException("a person entry is empty");
                var person = GalleryValidation.Normalize(new PersonDraft(e.Name, e.ExternalId, e.Groups, e.ValidFrom, e.ValidUntil, e.Enabled), nameof(source));
                var templates = new List<(TemplateDraft, DateTimeOffset)>();
                foreach (var t in e.Templates ?? [])
                {
                    if (t is null) throw new ArgumentException("a template entry is empty");
                    var draft = new TemplateDraft(t.ModelName, t.ModelHash, t.Vector, t.Quality, t.Source,
                        t.Crop is { } c ? new FaceCrop(c.Image, c.Points, c.Box) : null);
                    GalleryValidation.Check(draft, nameof(source));
                    templates.Add((draft, t.CreatedUtc));
                }
                entries.Add((person, e.CreatedUtc, templates));
            }
            catch (ArgumentException x)
            {
                throw new GalleryException($"the export file holds an invalid person ({x.Message}); nothing was imported", x);
            }
        }

        return Write("import", tx =>
        {
            long revision = BumpRevision(tx);
            int added = 0, updated = 0, templatesAdded = 0;
            foreach (var (p, created, all) in entries)
            {
                var templates = all;
                long id;
                if (p.ExternalId is not null && Scalar<long?>(_db, tx, "SELECT id FROM people WHERE external_id = $e", ("$e", p.ExternalId)) is long existing)
                {
                    id = existing;
                    UpdateFields(tx, id, p, revision);
                    // Importing the same file twice must not double anyone's templates.
                    var have = ReadTemplates(tx, "WHERE person_id = $p", ("$p", id));
                    templates = all.FindAll(t => !have.Exists(h => h.ModelName == t.Draft.ModelName && h.ModelHash == t.Draft.ModelHash
                        && h.Vector.AsSpan().SequenceEqual(t.Draft.Vector)));
                    updated++;
                }
                else
                {
                    id = InsertPerson(tx, p, created, revision);
                    added++;
                }
                if (templates.Count > 0)
                    templatesAdded += InsertTemplates(tx, id, templates.ConvertAll(t => t.Draft), templates.ConvertAll(t => t.Created)).Count;
            }
            return new ImportResult(added, updated, templatesAdded);
        });
    }

    // ---------------------------------------------------------------- the site gallery (fleet sync)

    /// <summary>
    /// Local changes the site has not seen yet: people whose site revision is above the one last published (their
    /// fields and every template, of every model, decrypted) and unpublished tombstones; at most
    /// <paramref name="max"/> records, people first (by id), then tombstones (by uid).
    /// </summary>
    /// <exception cref="GalleryException">A template does not decrypt, or SQLite failed.</exception>
    public IReadOnlyList<SiteRecord> PendingSitePublications(int max = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        return Read("list the changes the site has not seen", () =>
        {
            using var tx = _db.BeginTransaction(deferred: true);
            var records = new List<SiteRecord>();
            var people = ReadPeople(tx, "WHERE p.id IN (SELECT id FROM people WHERE site_published < site_revision ORDER BY id LIMIT $n)", [("$n", max)]);
            foreach (var p in people) records.Add(LocalSiteRecord(tx, p));
            if (records.Count < max)
            {
                using var cmd = Command(_db, tx, "SELECT uid, site_revision, deleted_utc FROM tombstones WHERE published = 0 ORDER BY uid LIMIT $n",
                    ("$n", max - records.Count));
                using var r = cmd.ExecuteReader();
                while (r.Read())
                    records.Add(new SiteRecord(r.GetString(0), r.GetInt64(1), true, null, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))));
            }
            return records;
        });
    }

    /// <summary>This gallery's site state of a person: live (fields and every template) or their tombstone; null when neither.</summary>
    public SiteRecord? SiteRecordOf(string uid)
    {
        string u = NormalizeUid(uid);
        return Read("read a person's site state", () =>
        {
            using var tx = _db.BeginTransaction(deferred: true);
            if (Scalar<long?>(_db, tx, "SELECT id FROM people WHERE uid = $u", ("$u", u)) is long id) return LocalSiteRecord(tx, ReadPerson(tx, id)!);
            using var cmd = Command(_db, tx, "SELECT site_revision, deleted_utc FROM tombstones WHERE uid = $u", ("$u", u));
            using var r = cmd.ExecuteReader();
            return r.Read() ? new SiteRecord(u, r.GetInt64(0), true, null, DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(1))) : null;
        });
    }

    /// <summary>Every uid this gallery holds a site state of: its people's and its tombstones'.</summary>
    public IReadOnlyList<string> SiteUids() => Read("list site ids", () =>
    {
        var uids = new List<string>();
        using var cmd = Command(_db, null, "SELECT uid FROM people UNION ALL SELECT uid FROM tombstones");
        using var r = cmd.ExecuteReader();
        while (r.Read()) uids.Add(r.GetString(0));
        return uids;
    });

    /// <summary>
    /// Marks the current state of these people and tombstones as not published, so it goes out again: the broker lost
    /// its copy (restarted without persistence, or someone cleared the topic). Unknown uids are ignored.
    /// </summary>
    /// <returns>How many were marked.</returns>
    public int RepublishSiteRecords(IReadOnlyCollection<string> uids)
    {
        ArgumentNullException.ThrowIfNull(uids);
        if (uids.Count == 0) return 0;
        return Write("mark records for publishing again", localChange: false, body: tx =>
        {
            int marked = 0;
            foreach (string uid in uids)
            {
                marked += Execute(_db, tx, "UPDATE people SET site_published = 0 WHERE uid = $u AND site_published = site_revision", ("$u", uid));
                marked += Execute(_db, tx, "UPDATE tombstones SET published = 0 WHERE uid = $u AND published = 1", ("$u", uid));
            }
            return marked;
        });
    }

    /// <summary>
    /// Notes that the site has the person's (or tombstone's) state of <paramref name="siteRevision"/>: only if that is
    /// still the local one, so a change made meanwhile still goes out.
    /// </summary>
    /// <returns>False when the local state has moved on (or was never that revision).</returns>
    public bool MarkSitePublished(string uid, long siteRevision)
    {
        string u = NormalizeUid(uid);
        return Write("mark a change published", localChange: false, body: tx =>
            Execute(_db, tx, "UPDATE people SET site_published = $r WHERE uid = $u AND site_revision = $r AND site_published <> $r",
                ("$u", u), ("$r", siteRevision))
            + Execute(_db, tx, "UPDATE tombstones SET published = 1 WHERE uid = $u AND site_revision = $r AND published = 0",
                ("$u", u), ("$r", siteRevision)) > 0);
    }

    /// <summary>
    /// Applies a person's state from the site gallery in one transaction, so that every kiosk ends with the same state
    /// whatever order records arrive in:
    /// <list type="bullet">
    /// <item>a higher revision than the local one (the person's, or their tombstone's) is applied;</item>
    /// <item>a lower one is <see cref="SiteApplyOutcome.Stale"/>, and the local state is marked for publishing again,
    ///   so a stale retained copy at the broker is replaced;</item>
    /// <item>the same revision with other content: a tombstone beats a live person (fail secure); between two live
    ///   states the one whose canonical plaintext (<see cref="SiteRecordJson"/>) has the higher SHA-256 wins; the same
    ///   content is <see cref="SiteApplyOutcome.Unchanged"/>.</item>
    /// </list>
    /// A live record replaces the person's fields and templates (a person is added with that uid if missing, and any
    /// tombstone goes); templates identical to a local one keep their row, and so their stored crop. Templates are
    /// kept as the record has them, not trimmed to <see cref="GalleryOptions.MaxTemplatesPerPerson"/>: the record is
    /// the site's state. A tombstone deletes the person (secure_delete zeroes the rows) and is kept. Applied records
    /// count as published: they came from the site. A change to people bumps <see cref="Revision"/>.
    /// <para>An ExternalId that another uid holds here makes the record a <see cref="SiteApplyOutcome.Conflict"/>,
    /// refused whole: uids are the identity, external ids a unique label, and silently taking the label from one
    /// person for another could let the wrong face open a door; someone must change or delete one of the two. The
    /// same for a vector whose length differs from the stored templates of its model.</para>
    /// </summary>
    /// <exception cref="ArgumentException">The record is invalid or not in canonical form (the message names the field).</exception>
    /// <exception cref="GalleryException">SQLite failed, or a local template does not decrypt; nothing was changed.</exception>
    public SiteApplyResult ApplySiteRecord(SiteRecord record)
    {
        var (person, templates) = CheckSiteRecord(record);
        string uid = record.Uid;
        return Write("apply a site record", localChange: false, body: tx =>
        {
            Person? local = Scalar<long?>(_db, tx, "SELECT id FROM people WHERE uid = $u", ("$u", uid)) is long id ? ReadPerson(tx, id) : null;
            long? tombstone = local is null ? Scalar<long?>(_db, tx, "SELECT site_revision FROM tombstones WHERE uid = $u", ("$u", uid)) : null;
            long localRevision = local?.SiteRevision ?? tombstone ?? 0;

            int order = record.Revision.CompareTo(localRevision);
            string how = order > 0 ? "newer" : "older";
            if (order == 0 && (local is not null || tombstone is not null))
            {
                how = "the tie-break winner";
                if (local is null) order = record.Deleted ? 0 : -1;      // two deletions agree; a tombstone beats a live copy
                else if (record.Deleted) order = 1;                       // fail secure: the deletion wins
                else order = SiteRecordJson.Digest(record).AsSpan().SequenceCompareTo(SiteRecordJson.Digest(LocalSiteRecord(tx, local)));
                order = Math.Sign(order);
            }

            if (order == 0)
            {
                // The site has exactly this state: nothing to publish.
                MarkPublished(tx, uid, record.Revision);
                return new SiteApplyResult(SiteApplyOutcome.Unchanged, $"person {uid} is already at site revision {record.Revision}", local?.Id);
            }
            if (order < 0)
            {
                // Ours is newer: whoever published the older copy (a kiosk that was offline, a replay) gets ours back.
                if (local is not null) Execute(_db, tx, "UPDATE people SET site_published = 0 WHERE id = $id", ("$id", local.Id));
                else Execute(_db, tx, "UPDATE tombstones SET published = 0 WHERE uid = $u", ("$u", uid));
                return new SiteApplyResult(SiteApplyOutcome.Stale,
                    $"person {uid}: the site record (revision {record.Revision}{(record.Deleted ? ", deleted" : "")}) loses to the local " +
                    $"{(local is null ? "tombstone" : "state")} (revision {localRevision}); the local one will be published again", local?.Id);
            }

            if (record.Deleted)
            {
                if (local is not null)
                {
                    Execute(_db, tx, "DELETE FROM people WHERE id = $id", ("$id", local.Id));
                    BumpRevision(tx);
                }
                Tombstone(tx, uid, record.Revision, published: true, record.DeletedUtc);
                return new SiteApplyResult(SiteApplyOutcome.Applied,
                    local is null ? $"person {uid}: tombstone of revision {record.Revision} kept" : $"person {uid} (local {local.Id}) deleted at site revision {record.Revision} ({how})",
                    local?.Id);
            }

            if (SiteConflict(tx, uid, local?.Id, person!, templates) is { } conflict)
                return new SiteApplyResult(SiteApplyOutcome.Conflict, conflict, local?.Id);
            Execute(_db, tx, "DELETE FROM tombstones WHERE uid = $u", ("$u", uid));
            long revision = BumpRevision(tx);
            long personId;
            if (local is null)
            {
                personId = InsertPerson(tx, person!, record.Person!.CreatedUtc, revision, uid, record.Revision, record.Revision);
            }
            else
            {
                personId = local.Id;
                UpdateFields(tx, personId, person!, revision);
                Execute(_db, tx, "UPDATE people SET created_utc = $c, site_revision = $r, site_published = $r WHERE id = $id",
                    ("$c", record.Person!.CreatedUtc.ToUnixTimeMilliseconds()), ("$r", record.Revision), ("$id", personId));
            }
            ReplaceTemplates(tx, personId, record.Person!.Templates);
            return new SiteApplyResult(SiteApplyOutcome.Applied,
                $"person {uid} (local {personId}) {(local is null ? "added" : "replaced")} at site revision {record.Revision} ({how})", personId);
        });
    }

    /// <summary>The record's content checked and normalized; it must already be in the normalized form, since kiosks
    /// compare states by their bytes.</summary>
    private static (GalleryValidation.NormalizedPerson? Person, List<TemplateDraft> Templates) CheckSiteRecord(SiteRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        const string param = nameof(record);
        if (record.Uid is null || NormalizeUid(record.Uid) != record.Uid)
            throw new ArgumentException($"uid '{record.Uid}' is not a UUID in its canonical form (lower case, with hyphens)", param);
        if (record.Revision is < 1 or > SiteRecord.MaxRevision)
            throw new ArgumentException($"revision {record.Revision} is out of range 1..{SiteRecord.MaxRevision}", param);
        if (record.Deleted)
        {
            if (record.Person is not null) throw new ArgumentException("a deletion carries no person", param);
            return (null, []);
        }
        var p = record.Person ?? throw new ArgumentException("a live record has no person", param);
        if (p.Groups is null || p.Templates is null) throw new ArgumentException("the person's groups or templates are missing", param);
        var normalized = GalleryValidation.Normalize(new PersonDraft(p.Name, p.ExternalId, p.Groups, p.ValidFrom, p.ValidUntil, p.Enabled), param);
        if (normalized.Name != p.Name || normalized.ExternalId != p.ExternalId || !normalized.Groups.SequenceEqual(p.Groups))
            throw new ArgumentException("the person's fields are not in normalized form (untrimmed text, unsorted or repeated groups)", param);
        if (p.Templates.Count > SiteRecordJson.MaxTemplates)
            throw new ArgumentException($"the record has {p.Templates.Count} templates; at most {SiteRecordJson.MaxTemplates}", param);
        var templates = new List<TemplateDraft>(p.Templates.Count);
        var dims = new Dictionary<(string, string), int>();
        foreach (var t in p.Templates)
        {
            if (t is null) throw new ArgumentException("a template is null", param);
            var draft = new TemplateDraft(t.ModelName, t.ModelHash, t.Vector, t.Quality, t.Source);
            GalleryValidation.Check(draft, param);
            if (t.Source.Length > MaxSourceLength) throw new ArgumentException($"a template's Source is {t.Source.Length} characters long; at most {MaxSourceLength}", param);
            if (dims.TryGetValue((t.ModelName, t.ModelHash), out int dim) && dim != t.Vector.Length)
                throw new ArgumentException($"templates of model {t.ModelName} ({t.ModelHash}) have {dim} and {t.Vector.Length} values", param);
            dims[(t.ModelName, t.ModelHash)] = t.Vector.Length;
            templates.Add(draft);
        }
        return (normalized, templates);
    }

    private const int MaxSourceLength = 4096;

    /// <summary>Why a live record cannot be applied here, or null.</summary>
    private string? SiteConflict(SqliteTransaction tx, string uid, long? localId, GalleryValidation.NormalizedPerson person, List<TemplateDraft> templates)
    {
        if (person.ExternalId is { } ext)
        {
            using var cmd = Command(_db, tx, "SELECT id, uid FROM people WHERE external_id = $e AND uid <> $u", ("$e", ext), ("$u", uid));
            using var r = cmd.ExecuteReader();
            if (r.Read())
                return $"ExternalId '{ext}' of site person {uid} is already person {r.GetString(1)}'s here (local person {r.GetInt64(0)}); " +
                       $"the record is refused until one of the two is changed or deleted";
        }
        foreach (var t in templates.DistinctBy(t => (t.ModelName, t.ModelHash)))
        {
            if (Scalar<long?>(_db, tx, "SELECT dim FROM templates WHERE model_name = $m AND model_hash = $h AND person_id <> $p LIMIT 1",
                    ("$m", t.ModelName), ("$h", t.ModelHash), ("$p", localId ?? -1)) is long dim && dim != t.Vector.Length)
                return $"site person {uid} has templates of model {t.ModelName} ({t.ModelHash}) with {t.Vector.Length} values, " +
                       $"but this gallery's templates of that model have {dim}; the record is refused";
        }
        return null;
    }

    /// <summary>Makes the person's templates the given ones: identical templates keep their rows (and crops), the
    /// others are deleted or added.</summary>
    private void ReplaceTemplates(SqliteTransaction tx, long personId, IReadOnlyList<SiteTemplate> wanted)
    {
        var have = ReadTemplates(tx, "WHERE person_id = $p", ("$p", personId));
        var add = new List<SiteTemplate>();
        foreach (var t in wanted)
        {
            int i = have.FindIndex(h => h.ModelName == t.ModelName && h.ModelHash == t.ModelHash && h.Vector.AsSpan().SequenceEqual(t.Vector));
            if (i < 0) { add.Add(t); continue; }
            var h = have[i];
            have.RemoveAt(i);
            if (h.Quality != t.Quality || h.Source != t.Source || h.CreatedUtc != t.CreatedUtc)
                Execute(_db, tx, "UPDATE templates SET quality = $q, source = $s, created_utc = $c WHERE id = $id",
                    ("$q", (double)t.Quality), ("$s", t.Source), ("$c", t.CreatedUtc.ToUnixTimeMilliseconds()), ("$id", h.Id));
        }
        foreach (var h in have) Execute(_db, tx, "DELETE FROM templates WHERE id = $id", ("$id", h.Id));
        if (add.Count > 0)
            InsertTemplates(tx, personId, add.ConvertAll(t => new TemplateDraft(t.ModelName, t.ModelHash, t.Vector, t.Quality, t.Source)),
                add.ConvertAll(t => t.CreatedUtc), trim: false);
    }

    private void MarkPublished(SqliteTransaction tx, string uid, long siteRevision)
    {
        Execute(_db, tx, "UPDATE people SET site_published = $r WHERE uid = $u AND site_revision = $r", ("$u", uid), ("$r", siteRevision));
        Execute(_db, tx, "UPDATE tombstones SET published = 1 WHERE uid = $u AND site_revision = $r", ("$u", uid), ("$r", siteRevision));
    }

    /// <summary>A person's whole state as the site gallery holds it.</summary>
    private SiteRecord LocalSiteRecord(SqliteTransaction tx, Person p)
    {
        var templates = ReadTemplates(tx, "WHERE person_id = $p", ("$p", p.Id))
            .ConvertAll(t => new SiteTemplate(t.ModelName, t.ModelHash, t.Vector, t.Quality, t.Source, t.CreatedUtc));
        return new SiteRecord(p.Uid, p.SiteRevision, false,
            new SitePerson(p.Name, p.ExternalId, p.Groups, p.ValidFrom, p.ValidUntil, p.Enabled, p.CreatedUtc, templates));
    }

    // ---------------------------------------------------------------- internals

    private static void CheckTemplates(IReadOnlyList<TemplateDraft> templates)
    {
        ArgumentNullException.ThrowIfNull(templates);
        if (templates.Count == 0) throw new ArgumentException("at least one template is required", nameof(templates));
        foreach (var t in templates) GalleryValidation.Check(t, nameof(templates));
    }

    /// <summary>Inserts templates (and crops) and, with <paramref name="trim"/>, trims the person to the best N per model;
    /// the kept new ones.</summary>
    private List<StoredTemplate> InsertTemplates(SqliteTransaction tx, long personId, IReadOnlyList<TemplateDraft> templates,
        IReadOnlyList<DateTimeOffset>? createdUtc = null, bool trim = true)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var stored = new List<StoredTemplate>(templates.Count);
        for (int i = 0; i < templates.Count; i++)
        {
            var t = templates[i];
            // Checked here, row by row, not up front: the template before may be this model's first.
            if (Scalar<long?>(_db, tx, "SELECT dim FROM templates WHERE model_name = $m AND model_hash = $h LIMIT 1",
                    ("$m", t.ModelName), ("$h", t.ModelHash)) is long dim && dim != t.Vector.Length)
                throw new GalleryException($"a template of model {t.ModelName} ({t.ModelHash}) has {t.Vector.Length} values, but this model's templates have {dim}");
            long created = createdUtc?[i].ToUnixTimeMilliseconds() ?? now;
            // The id is part of the blob's associated data, so the row comes first and the blob after.
            long id = Scalar<long>(_db, tx, """
                INSERT INTO templates(person_id, model_name, model_hash, dim, quality, source, created_utc, vector)
                VALUES ($p, $m, $h, $dim, $q, $s, $c, zeroblob(0)) RETURNING id
                """,
                ("$p", personId), ("$m", t.ModelName), ("$h", t.ModelHash), ("$dim", t.Vector.Length),
                ("$q", (double)t.Quality), ("$s", t.Source), ("$c", created));
            byte[] plain = GalleryCipher.EncodeVector(t.Vector);
            Execute(_db, tx, "UPDATE templates SET vector = $v WHERE id = $id",
                ("$v", _cipher.Seal(plain, GalleryCipher.TemplateAad(id, personId, t.ModelName, t.ModelHash))), ("$id", id));
            CryptographicOperations.ZeroMemory(plain);
            if (t.Crop is { } crop && _options.KeepCrops)
            {
                plain = GalleryCipher.EncodeCrop(crop);
                Execute(_db, tx, "INSERT INTO crops(template_id, data) VALUES ($id, $d)",
                    ("$id", id), ("$d", _cipher.Seal(plain, GalleryCipher.CropAad(id, personId))));
                CryptographicOperations.ZeroMemory(plain);
            }
            stored.Add(new StoredTemplate(id, personId, t.ModelName, t.ModelHash, (float[])t.Vector.Clone(), t.Quality, t.Source,
                DateTimeOffset.FromUnixTimeMilliseconds(created)));
        }

        if (!trim) return stored;
        var dropped = new HashSet<long>();
        foreach (var (model, hash) in templates.Select(t => (t.ModelName, t.ModelHash)).Distinct())
        {
            using var cmd = Command(_db, tx, """
                DELETE FROM templates WHERE id IN (
                    -- Unary + keeps SQLite on the per-person index: the per-model one made every enroll scan every
                    -- template of the model (3,000 enrolls: 24 s before, 2.3 s after).
                    SELECT id FROM templates WHERE person_id = $p AND +model_name = $m AND +model_hash = $h
                    ORDER BY quality DESC, id DESC LIMIT -1 OFFSET $keep)
                RETURNING id
                """, ("$p", personId), ("$m", model), ("$h", hash), ("$keep", _options.MaxTemplatesPerPerson));
            int count = 0;
            using (var r = cmd.ExecuteReader())
                while (r.Read()) { dropped.Add(r.GetInt64(0)); count++; }
            if (count > 0) Log.GalleryTemplatesDropped(_log, personId, count, model, _options.MaxTemplatesPerPerson);
        }
        stored.RemoveAll(t => dropped.Contains(t.Id));
        return stored;
    }

    private long InsertPerson(SqliteTransaction tx, GalleryValidation.NormalizedPerson p, DateTimeOffset created, long revision,
        string? uid = null, long siteRevision = 1, long sitePublished = 0)
    {
        long id = Scalar<long>(_db, tx, """
            INSERT INTO people(name, external_id, valid_from, valid_until, enabled, created_utc, revision, uid, site_revision, site_published)
            VALUES ($name, $ext, $from, $until, $enabled, $created, $revision, $uid, $srev, $spub) RETURNING id
            """,
            ("$name", p.Name), ("$ext", p.ExternalId), ("$from", p.ValidFrom?.ToUnixTimeMilliseconds()),
            ("$until", p.ValidUntil?.ToUnixTimeMilliseconds()), ("$enabled", p.Enabled),
            ("$created", created.ToUnixTimeMilliseconds()), ("$revision", revision), ("$uid", uid ?? NewUid()),
            ("$srev", siteRevision), ("$spub", sitePublished));
        WriteGroups(tx, id, p.Groups);
        return id;
    }

    private void UpdateFields(SqliteTransaction tx, long id, GalleryValidation.NormalizedPerson p, long revision)
    {
        Execute(_db, tx, """
            UPDATE people SET name = $name, external_id = $ext, valid_from = $from, valid_until = $until,
                enabled = $enabled, revision = $revision, site_revision = site_revision + 1 WHERE id = $id
            """,
            ("$name", p.Name), ("$ext", p.ExternalId), ("$from", p.ValidFrom?.ToUnixTimeMilliseconds()),
            ("$until", p.ValidUntil?.ToUnixTimeMilliseconds()), ("$enabled", p.Enabled), ("$revision", revision), ("$id", id));
        Execute(_db, tx, "DELETE FROM person_groups WHERE person_id = $id", ("$id", id));
        WriteGroups(tx, id, p.Groups);
    }

    private void WriteGroups(SqliteTransaction tx, long personId, string[] groups)
    {
        foreach (string g in groups)
            Execute(_db, tx, "INSERT INTO person_groups(person_id, name) VALUES ($p, $g)", ("$p", personId), ("$g", g));
    }

    private void CheckExternalIdFree(SqliteTransaction tx, string? externalId, long? exceptPersonId)
    {
        if (externalId is null) return;
        if (Scalar<long?>(_db, tx, "SELECT id FROM people WHERE external_id = $e", ("$e", externalId)) is long other && other != exceptPersonId)
            throw new GalleryException($"ExternalId '{externalId}' is already used by person {other}");
    }

    private void RequirePerson(SqliteTransaction tx, long id)
    {
        if (Scalar<long>(_db, tx, "SELECT count(*) FROM people WHERE id = $id", ("$id", id)) == 0)
            throw new GalleryException($"there is no person with id {id}");
    }

    private long BumpRevision(SqliteTransaction tx) =>
        Scalar<long>(_db, tx, "UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value");

    private long ReadRevision(SqliteTransaction? tx) =>
        Scalar<long>(_db, tx, "SELECT value FROM meta WHERE key = 'revision'");

    private Person? ReadPerson(SqliteTransaction tx, long id) =>
        ReadPeople(tx, "WHERE p.id = $id", [("$id", id)]) is [var p] ? p : null;

    private List<Person> ReadPeople(SqliteTransaction tx, string where, (string, object?)[] parameters)
    {
        var rows = new List<(long Id, string Name, string? Ext, long? From, long? Until, bool Enabled, long Created, long Revision, string Uid, long SiteRevision)>();
        using (var cmd = Command(_db, tx, $"""
            SELECT p.id, p.name, p.external_id, p.valid_from, p.valid_until, p.enabled, p.created_utc, p.revision, p.uid, p.site_revision
            FROM people p {where} ORDER BY p.id
            """, parameters))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
                rows.Add((r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetInt64(3),
                    r.IsDBNull(4) ? null : r.GetInt64(4), r.GetInt64(5) != 0, r.GetInt64(6), r.GetInt64(7), r.GetString(8), r.GetInt64(9)));
        }

        var groups = new Dictionary<long, List<string>>();
        string groupSql = rows.Count == 1
            ? "SELECT person_id, name FROM person_groups WHERE person_id = $id ORDER BY name"
            : "SELECT person_id, name FROM person_groups ORDER BY person_id, name";
        if (rows.Count > 0)
        {
            using var cmd = Command(_db, tx, groupSql, ("$id", rows[0].Id));
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                if (!groups.TryGetValue(r.GetInt64(0), out var list)) groups[r.GetInt64(0)] = list = [];
                list.Add(r.GetString(1));
            }
        }

        return rows.ConvertAll(p => new Person(p.Id, p.Name, p.Ext,
            groups.TryGetValue(p.Id, out var g) ? g.ToArray() : [],
            p.From is long f ? DateTimeOffset.FromUnixTimeMilliseconds(f) : null,
            p.Until is long u ? DateTimeOffset.FromUnixTimeMilliseconds(u) : null,
            p.Enabled, DateTimeOffset.FromUnixTimeMilliseconds(p.Created), p.Revision) { Uid = p.Uid, SiteRevision = p.SiteRevision });
    }

    private List<StoredTemplate> ReadTemplates(SqliteTransaction? tx, string where, params (string, object?)[] parameters)
    {
        var list = new List<StoredTemplate>();
        using var cmd = Command(_db, tx, $"""
            SELECT id, person_id, model_name, model_hash, dim, quality, source, created_utc, vector
            FROM templates {where} ORDER BY id
            """, parameters);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            long id = r.GetInt64(0), personId = r.GetInt64(1);
            string model = r.GetString(2), hash = r.GetString(3);
            long dim = r.GetInt64(4);
            byte[]? plain = _cipher.TryOpen((byte[])r.GetValue(8), GalleryCipher.TemplateAad(id, personId, model, hash));
            if (plain is null || plain.Length != dim * sizeof(float))
                throw new GalleryException(
                    $"template {id} of person {personId} in {_path} does not decrypt: the file was altered (a blob moved between rows) or damaged");
            list.Add(new StoredTemplate(id, personId, model, hash, GalleryCipher.DecodeVector(plain), (float)r.GetDouble(5),
                r.GetString(6), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7))));
            CryptographicOperations.ZeroMemory(plain);
        }
        return list;
    }

    private List<StoredCrop> ReadCrops(SqliteTransaction? tx, string where, params (string, object?)[] parameters)
    {
        var list = new List<StoredCrop>();
        using var cmd = Command(_db, tx, $"""
            SELECT c.template_id, t.person_id, c.data FROM crops c JOIN templates t ON t.id = c.template_id {where} ORDER BY c.template_id
            """, parameters);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            long templateId = r.GetInt64(0), personId = r.GetInt64(1);
            byte[]? plain = _cipher.TryOpen((byte[])r.GetValue(2), GalleryCipher.CropAad(templateId, personId));
            var crop = plain is null ? null : GalleryCipher.DecodeCrop(plain);
            if (crop is null)
                throw new GalleryException(
                    $"the crop of template {templateId} (person {personId}) in {_path} does not decrypt: the file was altered or damaged");
            CryptographicOperations.ZeroMemory(plain);
            list.Add(new StoredCrop(templateId, personId, crop));
        }
        return list;
    }

    /// <summary>A read (or a statement outside a transaction) under the lock, SQLite failures as GalleryException.</summary>
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
                throw new GalleryException($"the gallery {_path} could not {what}: {e.Message}", e);
            }
        }
    }

    /// <summary>One write transaction (BEGIN IMMEDIATE) under the lock: committed when the body returns, rolled back when it throws.</summary>
    /// <param name="localChange">false for the fleet sync's own writes (applying the site's records, bookkeeping):
    /// they raise no <see cref="Changed"/>, which announces changes for the site.</param>
    private T Write<T>(string what, Func<SqliteTransaction, T> body, bool localChange = true)
    {
        T result = Read(what, () =>
        {
            using var tx = _db.BeginTransaction();
            T r = body(tx);
            tx.Commit();
            return r;
        });
        if (localChange) Changed?.Invoke(); // outside the lock: a handler may read the store
        return result;
    }

    /// <summary>
    /// Raised after every committed local change through this store — enroll, update, templates, removal, import; not
    /// the fleet sync's own writes, nor other processes' (poll <see cref="Revision"/> for those) — on the writer's
    /// thread. Handlers must be quick and must not throw.
    /// </summary>
    public event Action? Changed;

    /// <summary>A pragma's value on this store's connection, for tests.</summary>
    internal object? Pragma(string name) => Read("read a pragma", () => ScalarObject(_db, null, $"PRAGMA {name}"));

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _db.Dispose();
            _cipher.Dispose();
        }
    }
}
