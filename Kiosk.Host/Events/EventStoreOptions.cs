using Microsoft.Extensions.Configuration;

namespace Kiosk.Host.Events;

/// <summary>
/// Where the event log lives and what it keeps; section <c>Events</c> of the settings. <see cref="Validate"/>
/// throws <see cref="SettingsException"/> naming the key, like the rest of the settings.
/// </summary>
public sealed record EventStoreOptions
{
    public const string Section = "Events";
    /// <summary>events.db in the kiosk's state folder (<see cref="KioskSettings.StateDir"/>), beside gallery.db.</summary>
    public static string DefaultDatabasePath => Path.Combine(KioskSettings.StateDir, "events.db");
    public const int DefaultSnapshotRetention = 1000;
    public const long DefaultMaxUnsentEvents = 1_000_000;

    /// <summary>The SQLite file, e.g. /var/lib/kiosk/events.db; -wal and -shm files sit beside it. Not the gallery's file.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>Store the camera frame of each event that comes with one (JPEG). Off: no face image is ever written.</summary>
    public bool KeepSnapshots { get; init; }

    /// <summary>Most snapshots kept; beyond it the oldest are deleted (their events stay).</summary>
    public int SnapshotRetention { get; init; } = DefaultSnapshotRetention;

    /// <summary>
    /// Most events kept. Beyond it the oldest events already handed on (sent) are deleted; events not yet sent
    /// are never deleted: when they alone exceed the cap a warning is logged once and new events are still
    /// written. Attendance reports cover the events still kept.
    /// </summary>
    public long MaxUnsentEvents { get; init; } = DefaultMaxUnsentEvents;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DatabasePath))
            throw new SettingsException($"{Section}:DatabasePath is empty; it must name the event log file (e.g. {DefaultDatabasePath})");
        if (Directory.Exists(DatabasePath))
            throw new SettingsException($"{Section}:DatabasePath is {DatabasePath}, which is a directory; it must name a file");
        if (SnapshotRetention < 1)
            throw new SettingsException($"{Section}:SnapshotRetention is {SnapshotRetention}; it must be at least 1 (use {Section}:KeepSnapshots=false to keep none)");
        if (MaxUnsentEvents < 1)
            throw new SettingsException($"{Section}:MaxUnsentEvents is {MaxUnsentEvents}; it must be at least 1");
    }

    /// <summary>Reads section <c>Events</c> (defaults for absent keys and an empty path) and validates it.</summary>
    public static EventStoreOptions Load(IConfiguration config)
    {
        var options = new EventStoreOptions
        {
            DatabasePath = config[$"{Section}:DatabasePath"] is { Length: > 0 } db ? db : DefaultDatabasePath,
            KeepSnapshots = KioskSettings.Get(config, $"{Section}:KeepSnapshots", false),
            SnapshotRetention = KioskSettings.Get(config, $"{Section}:SnapshotRetention", DefaultSnapshotRetention),
            MaxUnsentEvents = KioskSettings.Get(config, $"{Section}:MaxUnsentEvents", DefaultMaxUnsentEvents),
        };
        options.Validate();
        return options;
    }
}
