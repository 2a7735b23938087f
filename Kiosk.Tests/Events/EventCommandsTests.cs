using Kiosk.Host.Events;

namespace Kiosk.Tests.Events;

/// <summary>events and attendance through the real program, as the operator runs them.</summary>
public sealed class EventCommandsTests : IDisposable
{
    private readonly EventDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Append_with_the_same_id_twice_stores_one_event_and_prints_its_sequence_both_times()
    {
        string id = Guid.NewGuid().ToString("D");
        var first = await KioskProcess.RunAsync(_dir, "events", "append", "--kind", "Denied", "--id", id, "--detail", "not enrolled");
        var again = await KioskProcess.RunAsync(_dir, "events", "append", "--kind", "Denied", "--id", id, "--detail", "not enrolled");
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal($"1 {id}\n", first.Stdout);
        Assert.Equal(first, again);
        using var store = _dir.Open();
        var e = Assert.Single(store.Unsent(10)).Event;
        Assert.Equal((EventKind.Denied, "not enrolled"), (e.Kind, e.Detail));
    }

    [Fact]
    public async Task Append_is_hidden_from_help_but_list_and_tail_are_shown()
    {
        var (code, stdout, _) = await KioskProcess.RunAsync(_dir, "events", "--help");
        Assert.Equal(0, code);
        string[] commands = [.. stdout.Split('\n').Where(l => l.StartsWith("  ", StringComparison.Ordinal)).Select(l => l.Trim().Split(' ')[0])];
        Assert.Contains("list", commands);
        Assert.Contains("tail", commands);
        Assert.DoesNotContain("append", commands);
        // (System.CommandLine 2.0.0 prints no help at all for a hidden command: the README lists its options.)
    }

    [Fact]
    public async Task Attendance_report_writes_an_RFC_4180_file_in_the_zone_asked_for()
    {
        using (var store = _dir.Open())
        {
            store.Append(new KioskEvent(Guid.NewGuid(), EventKind.Granted, new DateTimeOffset(2026, 11, 2, 23, 30, 0, TimeSpan.Zero), 5, "Zoë, \"Z\"", 0.8f, "fast", ""));
            store.Append(new KioskEvent(Guid.NewGuid(), EventKind.Granted, new DateTimeOffset(2026, 11, 3, 7, 0, 0, TimeSpan.Zero), 5, "Zoë, \"Z\"", 0.8f, "fast", ""));
        }
        string csv = Path.Combine(_dir.Root, "november.csv");
        var (code, stdout, stderr) = await KioskProcess.RunAsync(_dir, "attendance", "report", "--from", "2026-11-01", "--to", "2026-11-30",
            "--time-zone", "Europe/Berlin", "--csv", csv);
        Assert.True(code == 0, stderr);
        Assert.Contains("Europe/Berlin", stdout);
        Assert.Equal(
            "person_id,name,date,first_in,last_out,grants\r\n" +
            "5,\"Zoë, \"\"Z\"\"\",2026-11-03,2026-11-03T00:30:00+01:00,2026-11-03T08:00:00+01:00,2\r\n",
            File.ReadAllText(csv));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(csv));
        Assert.False(File.Exists(csv + ".partial"));
    }

    [Fact]
    public async Task Attendance_report_exits_1_for_an_empty_period_and_2_for_a_bad_date_or_zone()
    {
        var empty = await KioskProcess.RunAsync(_dir, "attendance", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--csv", "-");
        Assert.Equal(1, empty.ExitCode);
        Assert.Equal(AttendanceReport.CsvHeader + "\r\n", empty.Stdout);

        var badDate = await KioskProcess.RunAsync(_dir, "attendance", "report", "--from", "1.11.2026", "--to", "2026-11-30");
        Assert.Equal(2, badDate.ExitCode);
        Assert.Contains("--from", badDate.Stderr);

        var badZone = await KioskProcess.RunAsync(_dir, "attendance", "report", "--from", "2026-11-01", "--to", "2026-11-30", "--time-zone", "Mars/Olympus");
        Assert.Equal(2, badZone.ExitCode);
        Assert.Contains("Mars/Olympus", badZone.Stderr);
    }

    [Fact]
    public async Task Tail_follow_shows_events_appended_after_it_started()
    {
        using (var store = _dir.Open()) store.Append(E.Event(EventKind.ServiceStarted, personId: null, name: null, detail: "old"));
        using var child = KioskProcess.Start(_dir, "events", "tail", "-n", "1", "--follow");
        try
        {
            var first = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.StartsWith("1 ", first);
            Assert.Contains("ServiceStarted: old", first);
            using (var store = _dir.Open())
            {
                store.Append(E.Event(EventKind.DoorForced, personId: null, name: null, detail: "contact opened without a grant"));
                store.Append(E.Event(EventKind.Granted, personId: 9, name: "Ada"));
            }
            var second = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var third = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.StartsWith("2 ", second);
            Assert.Contains("DoorForced: contact opened without a grant [unsent]", second);
            Assert.StartsWith("3 ", third);
            Assert.Contains("Granted 9 Ada score 0.710 (fast)", third);
        }
        finally
        {
            child.Kill();
            await child.WaitForExitAsync();
        }
    }
}
