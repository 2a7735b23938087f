using Kiosk.Host.Events;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Events;

/// <summary>A temporary folder for one event log, deleted afterwards.</summary>
internal sealed class EventDir : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("kiosk-events").FullName;
    public string DatabasePath => Path.Combine(Root, "state", "events.db");

    public EventStoreOptions Options(bool keepSnapshots = false, int snapshotRetention = 1000, long maxUnsent = 1_000_000) => new()
    {
        DatabasePath = DatabasePath,
        KeepSnapshots = keepSnapshots,
        SnapshotRetention = snapshotRetention,
        MaxUnsentEvents = maxUnsent,
    };

    public EventStore Open(EventStoreOptions? options = null, ILogger? logger = null) => EventStore.Open(options ?? Options(), logger);

    /// <summary>A plain SQLite connection to the file, beside (or after) the store.</summary>
    public SqliteConnection Raw()
    {
        var db = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        db.Open();
        return db;
    }

    public object? Scalar(string sql)
    {
        using var db = Raw();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    public void Execute(string sql)
    {
        using var db = Raw();
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Root, recursive: true);
    }
}

internal static class E
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 2, 7, 30, 0, TimeSpan.Zero);

    public static KioskEvent Event(EventKind kind = EventKind.Granted, DateTimeOffset? at = null, long? personId = 7,
        string? name = "Ada Lovelace", string detail = "", byte[]? snapshot = null, Guid? id = null) =>
        new(id ?? Guid.NewGuid(), kind, at ?? T0, personId, name, personId is null ? null : 0.71f, personId is null ? null : "fast", detail, snapshot);

    /// <summary>Bytes that pass as a JPEG (the store checks the start only), distinct per seed.</summary>
    public static byte[] Jpeg(int seed, int length = 4000)
    {
        var b = new byte[length];
        new Random(seed).NextBytes(b);
        b[0] = 0xFF; b[1] = 0xD8; b[2] = 0xFF;
        return b;
    }
}

/// <summary>An ILogger that keeps every entry, for tests that check what was logged and how often.</summary>
internal sealed class RecordingLogger : ILogger
{
    private readonly List<(LogLevel Level, EventId Id, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, EventId Id, string Message)> Entries
    {
        get { lock (_entries) return [.. _entries]; }
    }

    public int Count(int eventId) => Entries.Count(e => e.Id.Id == eventId);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries) _entries.Add((logLevel, eventId, formatter(state, exception)));
    }
}
