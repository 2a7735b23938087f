namespace Kiosk.Host.Gallery;

/// <summary>
/// The gallery's schema history. Each migration takes the file from the version before it to its own and runs in
/// one transaction with the version bump, so a file is always at a whole version. Never edit a shipped migration:
/// galleries in the field were made by it. Add the next one at the end.
/// </summary>
internal static class GallerySchema
{
    public sealed record Migration(int Version, string Description, string Sql);

    public static readonly Migration[] Migrations =
    [
        new(1, "people and templates", """
            CREATE TABLE meta (
                key   TEXT PRIMARY KEY NOT NULL,
                value                          -- no type: integers stay integers, the key check is a blob
            ) WITHOUT ROWID;
            CREATE TABLE people (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: logs naming an id stay right
                name        TEXT NOT NULL CHECK (length(name) > 0),
                external_id TEXT UNIQUE,
                created_utc INTEGER NOT NULL                    -- Unix milliseconds
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
                vector      BLOB NOT NULL                       -- AES-GCM, see GalleryCipher
            );
            CREATE INDEX templates_model ON templates(model_name, model_hash);
            CREATE INDEX templates_person ON templates(person_id);
            """),
        new(2, "aligned crops for re-embedding", """
            CREATE TABLE crops (
                template_id INTEGER PRIMARY KEY REFERENCES templates(id) ON DELETE CASCADE,
                data        BLOB NOT NULL                       -- AES-GCM, see GalleryCipher
            );
            """),
        new(3, "validity, groups, enabled, revisions", """
            ALTER TABLE people ADD COLUMN valid_from INTEGER;   -- Unix milliseconds, null = always
            ALTER TABLE people ADD COLUMN valid_until INTEGER;
            ALTER TABLE people ADD COLUMN enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1));
            ALTER TABLE people ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;  -- meta.revision of the last change
            CREATE TABLE person_groups (
                person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
                name      TEXT NOT NULL,
                PRIMARY KEY (person_id, name)
            ) WITHOUT ROWID;
            CREATE INDEX person_groups_name ON person_groups(name);
            INSERT INTO meta(key, value) VALUES ('revision', 0);
            """),
        new(4, "site-wide ids, site revisions and tombstones for the fleet gallery", """
            -- uid: the person across the site's kiosks (a UUID): MQTT commands and the fleet gallery name people by it.
            ALTER TABLE people ADD COLUMN uid TEXT;
            UPDATE people SET uid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2)
                || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
            CREATE UNIQUE INDEX people_uid ON people(uid);
            -- site_revision: the person's version in the site gallery (higher wins); site_published: the one last
            -- published to the fleet (less than site_revision: a local change still to go out).
            ALTER TABLE people ADD COLUMN site_revision INTEGER NOT NULL DEFAULT 1;
            ALTER TABLE people ADD COLUMN site_published INTEGER NOT NULL DEFAULT 0;
            -- A deleted person's uid and last revision: an older copy arriving later must not bring them back.
            CREATE TABLE tombstones (
                uid           TEXT PRIMARY KEY NOT NULL,
                site_revision INTEGER NOT NULL,
                deleted_utc   INTEGER NOT NULL,                 -- Unix milliseconds
                published     INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1))
            ) WITHOUT ROWID;
            """),
    ];

    public static int CurrentVersion => Migrations[^1].Version;
}
