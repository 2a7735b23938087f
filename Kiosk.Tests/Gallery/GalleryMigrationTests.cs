using System.Security.Cryptography;
using System.Text;
using Kiosk.Host.Gallery;
using Microsoft.Data.Sqlite;

namespace Kiosk.Tests.Gallery;

public sealed class GalleryMigrationTests : IDisposable
{
    private readonly GalleryDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // Schema 1 as it shipped, copied here on purpose: the test must keep failing if someone edits the migration.
    private const string V1Ddl = """
        CREATE TABLE meta (
            key   TEXT PRIMARY KEY NOT NULL,
            value
        ) WITHOUT ROWID;
        CREATE TABLE people (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            name        TEXT NOT NULL CHECK (length(name) > 0),
            external_id TEXT UNIQUE,
            created_utc INTEGER NOT NULL
        );
        CREATE TABLE templates (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            person_id   INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
            model_name  TEXT NOT NULL,
            model_hash  TEXT NOT NULL,
            dim         INTEGER NOT NULL CHECK (dim > 0),
            quality     REAL NOT NULL,
            source      TEXT NOT NULL,
            created_utc INTEGER NOT NULL,
            vector      BLOB NOT NULL
        );
        CREATE INDEX templates_model ON templates(model_name, model_hash);
        CREATE INDEX templates_person ON templates(person_id);
        INSERT INTO meta(key, value) VALUES ('schema_version', 1);
        """;

    /// <summary>AES-256-GCM as schema 1 wrote blobs, by hand: nonce | ciphertext | tag, UTF-8 associated data.</summary>
    private static byte[] SealV1(byte[] key, byte[] plaintext, string associatedData)
    {
        var blob = new byte[12 + plaintext.Length + 16];
        RandomNumberGenerator.Fill(blob.AsSpan(0, 12));
        using var aes = new AesGcm(key, 16);
        aes.Encrypt(blob.AsSpan(0, 12), plaintext, blob.AsSpan(12, plaintext.Length), blob.AsSpan(12 + plaintext.Length), Encoding.UTF8.GetBytes(associatedData));
        return blob;
    }

    private void CreateV1Gallery(byte[] key, float[] vector)
    {
        GalleryDir.WriteKeyFile(_dir.KeyPath, key);
        using var db = new SqliteConnection($"Data Source={_dir.DatabasePath};Pooling=False");
        db.Open();
        G.Execute(db, V1Ddl);
        G.Execute(db, "INSERT INTO meta(key, value) VALUES ('key_check', $v)",
            ("$v", SealV1(key, Encoding.UTF8.GetBytes("kiosk-gallery key check"), "kiosk-gallery\nkey-check")));
        G.Execute(db, "INSERT INTO people(id, name, external_id, created_utc) VALUES (1, 'Ada Lovelace', 'E-1815', 1700000000000)");
        G.Execute(db, "INSERT INTO people(id, name, external_id, created_utc) VALUES (2, 'Charles Babbage', NULL, 1700000000500)");
        G.Execute(db, """
            INSERT INTO templates(id, person_id, model_name, model_hash, dim, quality, source, created_utc, vector)
            VALUES (7, 1, 'arcface', 'sha256:abc', $dim, 0.75, 'enroll:ada.jpg', 1700000000001, $v)
            """, ("$dim", vector.Length),
            ("$v", SealV1(key, G.LittleEndian(vector), "kiosk-gallery\ntemplate\n7\n1\narcface\nsha256:abc")));
    }

    [Fact]
    public void A_schema_1_gallery_opens_migrated_to_the_current_schema_with_its_data_intact()
    {
        byte[] key = G.NewKey();
        float[] vector = G.Vector(5, dim: 16);
        CreateV1Gallery(key, vector);

        using (var store = _dir.Open())
        {
            Assert.Equal(GallerySchema.CurrentVersion, store.SchemaVersion);
            Assert.Equal(0, store.Revision);
            var ada = store.GetPerson(1)!;
            Assert.Equal(new Person(1, "Ada Lovelace", "E-1815", ada.Groups, null, null, true, DateTimeOffset.FromUnixTimeMilliseconds(1700000000000), 0)
                { Uid = ada.Uid, SiteRevision = 1 }, ada);
            Assert.Empty(ada.Groups);
            var charles = store.GetPerson(2)!;
            Assert.Equal("Charles Babbage", charles.Name);
            // Version 4 gave everyone a site-wide id: a well-formed version 4 UUID, distinct per person, found by it.
            Assert.True(Guid.TryParse(ada.Uid, out var uid) && uid.Version == 4 && (uid.Variant & 0xC) == 0x8, ada.Uid);
            Assert.Equal(uid.ToString("D"), ada.Uid);
            Assert.NotEqual(ada.Uid, charles.Uid);
            Assert.Equal(1, store.FindByUid(ada.Uid.ToUpperInvariant())!.Id);
            var template = Assert.Single(store.LoadTemplates("arcface", "sha256:abc"));
            Assert.Equal(new StoredTemplate(7, 1, "arcface", "sha256:abc", template.Vector, 0.75f, "enroll:ada.jpg",
                DateTimeOffset.FromUnixTimeMilliseconds(1700000000001)), template);
            Assert.Equal(vector, template.Vector);

            // What versions 2 and 3 added works on the migrated file.
            var kept = store.AddTemplates(1, [new TemplateDraft("arcface", "sha256:abc", G.Vector(6, 16), 0.9f, "camera", G.Crop(6))]);
            Assert.True(kept[0].Id > 7);
            Assert.Single(store.LoadCrops());
            var updated = store.UpdatePerson(2, new PersonDraft("Charles Babbage", "E-1791", ["engines"], Enabled: false));
            Assert.Equal(["engines"], updated.Groups);
            Assert.Equal(2, store.Revision);
            Assert.Equal([2L], store.PeopleWithoutTemplatesFor("arcface", "sha256:abc", withoutCrops: true).Select(p => p.Id));
        }

        using (var raw = _dir.Raw(readOnly: true))
        {
            Assert.Equal((long)GallerySchema.CurrentVersion, G.Scalar(raw, "SELECT value FROM meta WHERE key = 'schema_version'"));
            Assert.Equal("wal", G.Scalar(raw, "PRAGMA journal_mode"));
        }
        using (var store = _dir.Open())
        {
            Assert.Equal(GallerySchema.CurrentVersion, store.SchemaVersion);
            Assert.Equal(2, store.TemplatesOf(1).Count);
        }
    }

    [Fact]
    public void A_schema_1_gallery_with_the_wrong_key_is_refused_before_it_is_migrated()
    {
        CreateV1Gallery(G.NewKey(), G.Vector(5, dim: 16));
        GalleryDir.WriteKeyFile(_dir.KeyPath, G.NewKey());
        Assert.Throws<GalleryKeyException>(() => _dir.Open());
        using var raw = _dir.Raw(readOnly: true);
        Assert.Equal(1L, G.Scalar(raw, "SELECT value FROM meta WHERE key = 'schema_version'"));
    }

    [Fact]
    public void A_new_gallery_runs_every_migration_and_ends_at_the_current_schema()
    {
        using (var store = _dir.Open()) Assert.Equal(GallerySchema.CurrentVersion, store.SchemaVersion);
        Assert.Equal(Enumerable.Range(1, GallerySchema.CurrentVersion), GallerySchema.Migrations.Select(m => m.Version));
        using var raw = _dir.Raw(readOnly: true);
        var tables = new List<string>();
        using (var cmd = raw.CreateCommand())
        {
            cmd.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name";
            using var r = cmd.ExecuteReader();
            while (r.Read()) tables.Add(r.GetString(0));
        }
        Assert.Equal(["crops", "meta", "people", "person_groups", "templates", "tombstones"], tables);
    }

    [Fact]
    public void A_gallery_with_a_newer_schema_is_refused_and_left_alone()
    {
        using (_dir.Open()) { }
        int newer = GallerySchema.CurrentVersion + 1;
        using (var raw = _dir.Raw()) G.Execute(raw, $"UPDATE meta SET value = {newer} WHERE key = 'schema_version'");

        var e = Assert.Throws<GalleryException>(() => _dir.Open());
        Assert.Contains($"schema version {newer}", e.Message);
        Assert.Contains($"({GallerySchema.CurrentVersion})", e.Message);
        using var check = _dir.Raw(readOnly: true);
        Assert.Equal((long)newer, G.Scalar(check, "SELECT value FROM meta WHERE key = 'schema_version'"));
    }

    [Fact]
    public void An_SQLite_file_that_is_not_a_gallery_is_refused()
    {
        _dir.Environment["KIOSK_GALLERY_KEY"] = Convert.ToBase64String(G.NewKey());
        using (var db = new SqliteConnection($"Data Source={_dir.DatabasePath};Pooling=False"))
        {
            db.Open();
            G.Execute(db, "CREATE TABLE attendance (id INTEGER PRIMARY KEY)");
        }
        var e = Assert.Throws<GalleryException>(() => _dir.Open());
        Assert.Contains("not a kiosk gallery", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_SQLite_at_all_is_a_GalleryException()
    {
        _dir.Environment["KIOSK_GALLERY_KEY"] = Convert.ToBase64String(G.NewKey());
        File.WriteAllBytes(_dir.DatabasePath, RandomNumberGenerator.GetBytes(8192));
        Assert.Throws<GalleryException>(() => _dir.Open());
    }
}
