using Microsoft.Extensions.Configuration;

namespace Kiosk.Host.Gallery;

/// <summary>
/// Where the gallery lives and what it keeps; section <c>Gallery</c> of the settings. <see cref="Validate"/>
/// throws <see cref="SettingsException"/> naming the key, like the rest of the settings.
/// </summary>
public sealed record GalleryOptions
{
    public const string Section = "Gallery";
    /// <summary>gallery.db in the kiosk's state folder (<see cref="KioskSettings.StateDir"/>; /var/lib/kiosk for the service).</summary>
    public static string DefaultDatabasePath => Path.Combine(KioskSettings.StateDir, "gallery.db");
    public static string DefaultKeyPath => Path.Combine(KioskSettings.StateDir, "gallery.key");
    public const int MaxTemplatesLimit = 100;

    /// <summary>The SQLite file, e.g. /var/lib/kiosk/gallery.db; -wal and -shm files sit beside it.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>
    /// The key file (base64 of 32 bytes, one line, mode 0600), e.g. /var/lib/kiosk/gallery.key. The environment
    /// variable <c>KIOSK_GALLERY_KEY</c> (same format) overrides it; see <see cref="GalleryStore.Open"/>.
    /// </summary>
    public required string KeyPath { get; init; }

    /// <summary>Store the aligned enrollment crops (encrypted) for re-embedding with another model.</summary>
    public bool KeepCrops { get; init; } = true;

    /// <summary>Templates kept per person and model; beyond it the lowest-quality ones are dropped.</summary>
    public int MaxTemplatesPerPerson { get; init; } = 5;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DatabasePath))
            throw new SettingsException($"{Section}:DatabasePath is empty; it must name the gallery file (e.g. {DefaultDatabasePath})");
        if (string.IsNullOrWhiteSpace(KeyPath))
            throw new SettingsException($"{Section}:KeyPath is empty; it must name the key file (e.g. {DefaultKeyPath})");
        if (Directory.Exists(DatabasePath))
            throw new SettingsException($"{Section}:DatabasePath is {DatabasePath}, which is a directory; it must name a file");
        if (Directory.Exists(KeyPath))
            throw new SettingsException($"{Section}:KeyPath is {KeyPath}, which is a directory; it must name a file");
        if (string.Equals(Path.GetFullPath(DatabasePath), Path.GetFullPath(KeyPath), StringComparison.Ordinal))
            throw new SettingsException($"{Section}:KeyPath is the same file as {Section}:DatabasePath ({KeyPath})");
        if (MaxTemplatesPerPerson is < 1 or > MaxTemplatesLimit)
            throw new SettingsException($"{Section}:MaxTemplatesPerPerson is {MaxTemplatesPerPerson}; it must be 1..{MaxTemplatesLimit}");
    }

    /// <summary>Reads section <c>Gallery</c> (defaults for absent keys) and validates it.</summary>
    public static GalleryOptions Load(IConfiguration config)
    {
        var options = new GalleryOptions
        {
            DatabasePath = config[$"{Section}:DatabasePath"] is { Length: > 0 } db ? db : DefaultDatabasePath,
            KeyPath = config[$"{Section}:KeyPath"] is { Length: > 0 } key ? key : DefaultKeyPath,
            KeepCrops = KioskSettings.Get(config, $"{Section}:KeepCrops", true),
            MaxTemplatesPerPerson = KioskSettings.Get(config, $"{Section}:MaxTemplatesPerPerson", 5),
        };
        options.Validate();
        return options;
    }

}
