using Kiosk.Host.Events;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Events;

public sealed class EventStoreTests : IDisposable
{
    private readonly EventDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Open_creates_an_owner_only_file_in_WAL_mode_with_full_sync()
    {
        using var store = _dir.Open();
        Assert.Equal(EventSchema.CurrentVersion, store.SchemaVersion);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_dir.DatabasePath));
        Assert.Equal("wal", (string)store.Pragma("journal_mode")!);
        Assert.Equal(2L, store.Pragma("synchronous"));   // FULL: the WAL is fsynced at every commit
        Assert.Equal(1L, store.Pragma("foreign_keys"));  // snapshots go with their events
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.UnsentCount);
    }

    [Fact]
    public void A_version_1_log_is_migrated_keeping_its_events_and_the_persons_site_id_is_kept_and_immutable()
    {
        // A log written by the first version: its schema and one event, as that version wrote them.
        Directory.CreateDirectory(Path.GetDirectoryName(_dir.DatabasePath)!);
        _dir.Execute(EventSchema.Migrations[0].Sql + """
            INSERT INTO meta(key, value) VALUES ('schema_version', 1), ('store', 'kiosk-events');
            INSERT INTO events(id, kind, occurred_utc, person_id, person_name, detail)
            VALUES ('0f8fad5b-d9cb-469f-a165-70867728950e', 'Granted', 1700000000000, 3, 'Ada', 'old');
            """);
        using var store = _dir.Open();
        Assert.Equal(EventSchema.CurrentVersion, store.SchemaVersion);
        var old = Assert.Single(store.Latest(10));
        Assert.Equal(("Ada", (string?)null), (old.Event.PersonName, old.Event.PersonUid));

        string uid = Guid.NewGuid().ToString("D");
        store.Append(E.Event() with { PersonUid = uid });
        Assert.Equal(uid, store.Latest(1)[0].Event.PersonUid);
        var e = Assert.ThrowsAny<Exception>(() => _dir.Execute("UPDATE events SET person_uid = 'x'"));
        Assert.Contains("immutable", e.Message);
    }

    [Fact]
    public void The_schema_has_a_unique_index_on_the_event_id()
    {
        using (_dir.Open()) { }
        Assert.Equal(1L, _dir.Scalar("SELECT \"unique\" FROM pragma_index_list('events') WHERE name = 'events_id'"));
        Assert.Equal("id", _dir.Scalar("SELECT name FROM pragma_index_info('events_id')"));
    }

    [Fact]
    public void An_appended_event_reads_back_with_every_field()
    {
        using var store = _dir.Open();
        var granted = new KioskEvent(Guid.NewGuid(), EventKind.Granted, E.T0.AddMilliseconds(123), 42, "Zoë O'Brien, \"Z\"", 0.8125f, "accurate", "door 1");
        var failed = new KioskEvent(Guid.NewGuid(), EventKind.SourceFailed, E.T0.AddSeconds(1), null, null, null, null, "camera /dev/video0: ENODEV");
        long a = store.Append(granted), b = store.Append(failed);
        Assert.Equal(1, a);
        Assert.Equal(2, b);
        var all = store.Unsent(10);
        Assert.Equal([new StoredEvent(1, granted, false), new StoredEvent(2, failed, false)], all);
        Assert.Equal(TimeSpan.Zero, all[0].Event.OccurredUtc.Offset);
    }

    [Fact]
    public void Times_come_back_in_UTC_truncated_to_the_millisecond()
    {
        using var store = _dir.Open();
        var berlin = new DateTimeOffset(2026, 11, 2, 8, 30, 0, TimeSpan.FromHours(1)).AddTicks(1_234_567); // 123.4567 ms past
        store.Append(E.Event(at: berlin));
        var stored = store.Unsent(1)[0].Event.OccurredUtc;
        Assert.Equal(TimeSpan.Zero, stored.Offset);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 7, 30, 0, TimeSpan.Zero).AddMilliseconds(123), stored);
    }

    [Fact]
    public void Appending_an_id_already_stored_changes_nothing_and_returns_its_sequence()
    {
        var log = new RecordingLogger();
        var e = E.Event();
        using (var store = _dir.Open(logger: log))
        {
            Assert.Equal(1, store.Append(e));
            Assert.Equal(2, store.Append(E.Event()));
            Assert.Equal(1, store.Append(e));          // a retry
            Assert.Equal(1, store.Append(e with { PersonName = "someone else" }));
            Assert.Equal(2, store.Count);
            Assert.Equal(0, log.Count(4006));          // same kind and time: a plain retry, not worth a warning
        }
        using (var store = _dir.Open(logger: log))
        {
            Assert.Equal(1, store.Append(e));          // also after reopening
            Assert.Equal(1, store.Append(e with { Kind = EventKind.Denied }));
            Assert.Equal(2, store.Count);
            Assert.Equal(EventKind.Granted, store.Unsent(1)[0].Event.Kind);
        }
        Assert.Equal(1, log.Count(4006));              // the id reused for another event is logged
    }

    [Fact]
    public void Sequences_are_never_reused_even_after_the_last_event_is_deleted()
    {
        using var store = _dir.Open();
        store.Append(E.Event());
        store.Append(E.Event());
        _dir.Execute("DELETE FROM events WHERE seq = 2");
        Assert.Equal(3, store.Append(E.Event()));
    }

    [Fact]
    public void Unsent_returns_the_oldest_first_and_MarkSent_up_to_a_sequence_takes_them_out()
    {
        using var store = _dir.Open();
        for (int i = 0; i < 10; i++) store.Append(E.Event(at: E.T0.AddMinutes(-i))); // later appends, earlier times
        Assert.Equal([1L, 2, 3, 4], store.Unsent(4).Select(s => s.Sequence));
        Assert.Equal(4, store.MarkSent(4));
        Assert.Equal(0, store.MarkSent(4));                  // again: nothing new
        Assert.Equal([5L, 6], store.Unsent(2).Select(s => s.Sequence));
        Assert.Equal(10, store.Count);
        Assert.Equal(6, store.UnsentCount);
        Assert.Empty(store.Unsent(0));
    }

    [Fact]
    public void MarkSent_with_a_list_marks_exactly_those_and_ignores_unknown_ones()
    {
        using var store = _dir.Open();
        for (int i = 0; i < 6; i++) store.Append(E.Event());
        Assert.Equal(3, store.MarkSent([2L, 4, 5, 5, 99]));
        Assert.Equal([1L, 3, 6], store.Unsent(10).Select(s => s.Sequence));
        Assert.Equal(3, store.UnsentCount);
        Assert.Equal(0, store.MarkSent([]));
        var sent = store.Query(DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Where(s => s.Sent).Select(s => s.Sequence);
        Assert.Equal([2L, 4, 5], sent);
    }

    [Fact]
    public void Query_returns_the_half_open_range_by_time_and_filters_by_kind()
    {
        using var store = _dir.Open();
        store.Append(E.Event(EventKind.Granted, E.T0.AddMinutes(5)));      // 1
        store.Append(E.Event(EventKind.Denied, E.T0));                     // 2, at the start: included
        store.Append(E.Event(EventKind.Granted, E.T0.AddMinutes(10)));     // 3, at the end: excluded
        store.Append(E.Event(EventKind.Granted, E.T0.AddMinutes(-1)));     // 4, before
        store.Append(E.Event(EventKind.Granted, E.T0.AddMinutes(5)));      // 5, same time as 1: by sequence
        store.Append(E.Event(EventKind.DoorForced, E.T0.AddMinutes(9.999)));// 6
        var range = store.Query(E.T0, E.T0.AddMinutes(10));
        Assert.Equal([2L, 1, 5, 6], range.Select(s => s.Sequence));
        Assert.Equal([1L, 5], store.Query(E.T0, E.T0.AddMinutes(10), EventKind.Granted).Select(s => s.Sequence));
        Assert.Empty(store.Query(E.T0.AddMinutes(10), E.T0));
    }

    [Fact]
    public void Latest_and_After_page_through_the_log_in_sequence_order()
    {
        using var store = _dir.Open();
        for (int i = 0; i < 7; i++) store.Append(E.Event(at: E.T0.AddMinutes(-i)));
        Assert.Equal([5L, 6, 7], store.Latest(3).Select(s => s.Sequence));
        Assert.Equal([3L, 4], store.After(2, 2).Select(s => s.Sequence));
        Assert.Empty(store.After(7, 10));
    }

    [Fact]
    public void No_snapshot_is_stored_unless_KeepSnapshots_is_on()
    {
        byte[] jpeg = E.Jpeg(1);
        using (var store = _dir.Open())
        {
            store.Append(E.Event(snapshot: jpeg));
            Assert.Equal(0, store.SnapshotCount);
            Assert.Null(store.Unsent(1)[0].Event.SnapshotJpeg);
        }
        SqliteConnection.ClearAllPools();
        byte[] file = [.. File.ReadAllBytes(_dir.DatabasePath), .. File.Exists(_dir.DatabasePath + "-wal") ? File.ReadAllBytes(_dir.DatabasePath + "-wal") : []];
        Assert.True(file.AsSpan().IndexOf(jpeg.AsSpan(0, 64)) < 0, "the image's bytes are in the file");
    }

    [Fact]
    public void Snapshots_beyond_the_retention_are_deleted_oldest_first_and_their_events_stay()
    {
        using var store = _dir.Open(_dir.Options(keepSnapshots: true, snapshotRetention: 3));
        for (int i = 1; i <= 5; i++) store.Append(E.Event(snapshot: E.Jpeg(i)));
        store.Append(E.Event()); // none: retention counts snapshots, not events
        Assert.Equal(3, store.SnapshotCount);
        Assert.Null(store.Snapshot(2));
        Assert.Equal(E.Jpeg(3), store.Snapshot(3));
        Assert.Equal(E.Jpeg(5), store.Snapshot(5));
        var outbox = store.Unsent(10);
        Assert.Equal(6, outbox.Count);
        Assert.Equal([false, false, true, true, true, false], outbox.Select(s => s.Event.SnapshotJpeg is not null));
        Assert.Equal(E.Jpeg(4), outbox[3].Event.SnapshotJpeg);
        Assert.All(store.Query(DateTimeOffset.MinValue, DateTimeOffset.MaxValue), s => Assert.Null(s.Event.SnapshotJpeg));
        Assert.Equal(E.Jpeg(4), store.Query(DateTimeOffset.MinValue, DateTimeOffset.MaxValue, withSnapshots: true)[3].Event.SnapshotJpeg);
    }

    [Fact]
    public void Unsent_after_a_sequence_skips_what_a_publisher_already_has_in_flight()
    {
        using var store = _dir.Open(_dir.Options(keepSnapshots: true));
        for (int i = 1; i <= 6; i++) store.Append(E.Event(snapshot: i == 4 ? E.Jpeg(4) : null)); // sequences 1-6
        store.MarkSent([2L, 5]);
        Assert.Equal([3L, 4], store.Unsent(afterSequence: 1, max: 2).Select(s => s.Sequence));
        Assert.Equal([4L, 6], store.Unsent(afterSequence: 3, max: 10).Select(s => s.Sequence));
        Assert.Equal(E.Jpeg(4), store.Unsent(afterSequence: 3, max: 1)[0].Event.SnapshotJpeg);
        Assert.Empty(store.Unsent(afterSequence: 6, max: 10));
    }

    [Fact]
    public void Appended_is_raised_once_per_new_event_with_its_sequence_and_not_for_an_id_already_stored()
    {
        using var store = _dir.Open();
        var raised = new List<long>();
        store.Appended += raised.Add;
        var e = E.Event();
        long first = store.Append(e);
        Assert.Equal(first, store.Append(e)); // the same id again: nothing written, nothing raised
        long second = store.Append(E.Event());
        Assert.Equal([first, second], raised);
        using (var other = _dir.Open()) other.Append(E.Event()); // another connection's append is not seen here
        Assert.Equal(2, raised.Count);
    }

    [Fact]
    public void An_Appended_handler_that_throws_is_logged_and_the_append_still_succeeds()
    {
        var log = new RecordingLogger();
        using var store = _dir.Open(logger: log);
        store.Appended += _ => throw new InvalidOperationException("handler bug");
        long seq = store.Append(E.Event());
        Assert.Equal(1, store.Count);
        var entry = Assert.Single(log.Entries, x => x.Id.Id == 4007);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains($"event {seq}", entry.Message);
    }

    [Fact]
    public void Beyond_the_cap_the_oldest_sent_events_are_deleted_and_unsent_ones_kept()
    {
        using var store = _dir.Open(_dir.Options(keepSnapshots: true, maxUnsent: 5));
        for (int i = 0; i < 5; i++) store.Append(E.Event(snapshot: E.Jpeg(i)));
        store.MarkSent([1L, 3, 4]);
        store.Append(E.Event());
        store.Append(E.Event());
        Assert.Equal(5, store.Count);
        var left = store.Query(DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
        Assert.Equal([2L, 4, 5, 6, 7], left.Select(s => s.Sequence));   // 1 and 3 (sent, oldest) went; 4 (sent) stays
        Assert.Equal(0L, _dir.Scalar("SELECT count(*) FROM snapshots WHERE seq IN (1, 3)"));
        Assert.Equal(4, store.UnsentCount);
    }

    [Fact]
    public void When_unsent_events_alone_exceed_the_cap_a_warning_is_logged_once_and_events_are_still_written()
    {
        var log = new RecordingLogger();
        using var store = _dir.Open(_dir.Options(maxUnsent: 3), log);
        for (int i = 0; i < 8; i++) store.Append(E.Event());
        Assert.Equal(8, store.Count);
        Assert.Equal(8, store.UnsentCount);
        var warning = Assert.Single(log.Entries, e => e.Id.Id == 4003);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("Events:MaxUnsentEvents", warning.Message);
        Assert.Contains("holds 4 events not yet sent", warning.Message); // when it crossed the cap

        store.MarkSent(6);
        store.Append(E.Event());              // the sent ones go now, down to the cap
        Assert.Equal(3, store.Count);
        Assert.Equal([7L, 8, 9], store.Unsent(10).Select(s => s.Sequence));
        Assert.Equal(1, log.Count(4004));     // back under

        for (int i = 0; i < 3; i++) store.Append(E.Event());
        Assert.Equal(2, log.Count(4003));     // over again: warned again, once
        Assert.Equal(6, store.Count);
    }

    [Fact]
    public void The_counters_agree_with_the_rows_after_every_kind_of_change_and_across_processes()
    {
        using var store = _dir.Open(_dir.Options(maxUnsent: 20));
        using var other = _dir.Open(_dir.Options(maxUnsent: 20)); // a second connection, as the CLI beside the service
        var rng = new Random(3);
        for (int i = 0; i < 200; i++)
        {
            var s = rng.Next(2) == 0 ? store : other;
            switch (rng.Next(5))
            {
                case 0: s.MarkSent(rng.Next(1, i + 2)); break;
                case 1: s.MarkSent([rng.Next(1, i + 2), rng.Next(1, i + 2)]); break;
                default: s.Append(E.Event()); break;
            }
            Assert.Equal((long)_dir.Scalar("SELECT count(*) FROM events")!, other.Count);
            Assert.Equal((long)_dir.Scalar("SELECT count(*) FROM events WHERE sent = 0")!, store.UnsentCount);
        }
        Assert.InRange(store.Count, 1, 20 + store.UnsentCount);
    }

    [Fact]
    public void Appends_from_many_threads_get_distinct_increasing_sequences()
    {
        using var store = _dir.Open();
        var results = new System.Collections.Concurrent.ConcurrentBag<(long Seq, Guid Id)>();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (int i = 0; i < 25; i++)
            {
                var e = E.Event();
                results.Add((store.Append(e), e.Id));
            }
        });
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), results.Select(r => r.Seq).Order());
        var stored = store.Unsent(1000).ToDictionary(s => s.Sequence, s => s.Event.Id);
        Assert.All(results, r => Assert.Equal(r.Id, stored[r.Seq]));
    }

    [Fact]
    public void Events_survive_reopening()
    {
        var e = E.Event(EventKind.DoorHeldOpen, personId: null, detail: "held 31 s");
        using (var store = _dir.Open()) store.Append(e);
        using (var store = _dir.Open())
        {
            Assert.Equal(new StoredEvent(1, e, false), Assert.Single(store.Unsent(10)));
            Assert.Equal(2, store.Append(E.Event()));
        }
    }

    public static TheoryData<string, KioskEvent> InvalidEvents => new()
    {
        { "Id", E.Event(id: Guid.Empty) },
        { "Kind", E.Event(kind: (EventKind)99) },
        { "Detail", E.Event() with { Detail = null! } },
        { "Score", E.Event() with { Score = float.NaN } },
        { "SnapshotJpeg", E.Event(snapshot: [0x89, 0x50, 0x4E, 0x47]) },
    };

    [Theory]
    [MemberData(nameof(InvalidEvents))]
    public void An_invalid_event_is_refused_naming_the_field(string field, KioskEvent e)
    {
        using var store = _dir.Open();
        var x = Assert.Throws<ArgumentException>(() => store.Append(e));
        Assert.Contains("KioskEvent." + field, x.Message);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Stored_events_cannot_be_altered_but_for_being_sent()
    {
        using (var store = _dir.Open()) store.Append(E.Event());
        var x = Assert.Throws<SqliteException>(() => _dir.Execute("UPDATE events SET kind = 'Denied' WHERE seq = 1"));
        Assert.Contains("immutable", x.Message);
        _dir.Execute("UPDATE events SET sent = 1 WHERE seq = 1");
        using (var store = _dir.Open()) Assert.Equal(0, store.UnsentCount);
    }

    [Fact]
    public void A_kind_this_program_does_not_know_is_a_typed_error_naming_it()
    {
        using var store = _dir.Open();
        store.Append(E.Event());
        _dir.Execute("INSERT INTO events(id, kind, occurred_utc, detail) VALUES ('00000000-0000-0000-0000-000000000001', 'Teleported', 0, '')");
        var x = Assert.Throws<EventStoreException>(() => store.Unsent(10));
        Assert.Contains("'Teleported'", x.Message);
        Assert.Contains("event 2", x.Message);
    }

    [Fact]
    public void The_gallery_file_or_another_database_is_refused_and_left_unchanged()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_dir.DatabasePath)!);
        // What the gallery's file looks like to us: a meta table, but not ours.
        _dir.Execute("CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID; INSERT INTO meta VALUES ('schema_version', 3)");
        byte[] before = File.ReadAllBytes(_dir.DatabasePath);
        var x = Assert.Throws<EventStoreException>(() => _dir.Open());
        Assert.Contains("not a kiosk event log", x.Message);
        Assert.Contains("Events:DatabasePath", x.Message);
        Assert.Equal(before, File.ReadAllBytes(_dir.DatabasePath));

        _dir.Execute("DROP TABLE meta; CREATE TABLE something (x)");
        Assert.Contains("no meta table", Assert.Throws<EventStoreException>(() => _dir.Open()).Message);
    }

    [Fact]
    public void A_newer_schema_is_refused_without_changing_the_file()
    {
        using (_dir.Open()) { }
        _dir.Execute("UPDATE meta SET value = 99 WHERE key = 'schema_version'");
        SqliteConnection.ClearAllPools();
        byte[] before = File.ReadAllBytes(_dir.DatabasePath);
        var x = Assert.Throws<EventStoreException>(() => _dir.Open());
        Assert.Contains("schema version 99", x.Message);
        Assert.Equal(before, File.ReadAllBytes(_dir.DatabasePath));
    }

    [Fact]
    public void An_opener_that_finds_the_file_migrated_by_another_since_it_looked_leaves_it_as_is()
    {
        // The service and the CLI starting together on the first boot: the other one creates the schema between
        // this one's read of the version and its migration.
        var options = _dir.Options();
        EventStore? other = null;
        bool hooked = false;
        void Hook(string path)
        {
            if (path != _dir.DatabasePath || hooked) return; // other tests open stores in parallel; the other opener passes here too
            hooked = true;
            other = EventStore.Open(options);
        }
        EventStore.BeforeMigrationsForTests += Hook;
        try
        {
            using var store = _dir.Open(options);
            Assert.NotNull(other);
            Assert.Equal(EventSchema.CurrentVersion, store.SchemaVersion);
            Assert.Equal(1, store.Append(E.Event()));
            Assert.Equal(2, other.Append(E.Event()));
            Assert.Equal(2, store.Count);
        }
        finally
        {
            EventStore.BeforeMigrationsForTests -= Hook;
            other?.Dispose();
        }
    }

    [Fact]
    public void Open_validates_the_options_first_and_creates_nothing()
    {
        var x = Assert.Throws<Kiosk.Host.SettingsException>(() => _dir.Open(_dir.Options(maxUnsent: 0)));
        Assert.Contains("Events:MaxUnsentEvents", x.Message);
        Assert.False(File.Exists(_dir.DatabasePath));
    }

    [Fact]
    public void A_disposed_store_refuses_calls()
    {
        var store = _dir.Open();
        store.Dispose();
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => store.Append(E.Event()));
    }
}
