using Kiosk.Host.Events;

namespace Kiosk.Tests.Events;

public sealed class AttendanceReportTests : IDisposable
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly TimeZoneInfo Havana = TimeZoneInfo.FindSystemTimeZoneById("America/Havana");

    private readonly EventDir _dir = new();
    private readonly EventStore _store;

    public AttendanceReportTests() => _store = _dir.Open();

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private static DateTimeOffset Utc(int month, int day, int hour, int minute, int second = 0) =>
        new(2026, month, day, hour, minute, second, TimeSpan.Zero);

    private void Grant(long? person, string? name, DateTimeOffset at) =>
        _store.Append(new KioskEvent(Guid.NewGuid(), EventKind.Granted, at, person, name, 0.7f, "fast", ""));

    private void Other(EventKind kind, long? person, DateTimeOffset at) =>
        _store.Append(new KioskEvent(Guid.NewGuid(), kind, at, person, "x", null, null, ""));

    private static DateOnly D(int month, int day) => new(2026, month, day);

    private static DateTimeOffset Local(int month, int day, int hour, int minute, int offsetHours) =>
        new(2026, month, day, hour, minute, 0, TimeSpan.FromHours(offsetHours));

    [Fact]
    public void A_day_gives_the_first_and_last_grant_and_their_count_and_other_events_do_not_count()
    {
        Grant(1, "Ada", Utc(11, 2, 7, 1));    // 08:01 in Berlin (CET, +01:00)
        Grant(1, "Ada", Utc(11, 2, 11, 30));
        Grant(1, "Ada", Utc(11, 2, 16, 45));
        Grant(2, "Bob", Utc(11, 2, 9, 0));
        Other(EventKind.Denied, 1, Utc(11, 2, 18, 0));
        Other(EventKind.UnknownFace, null, Utc(11, 2, 6, 0));
        Other(EventKind.ExitButton, null, Utc(11, 2, 19, 0));

        var report = AttendanceReport.Build(_store, D(11, 1), D(11, 30), Berlin);
        Assert.Equal(
        [
            new AttendanceRow(1, "Ada", D(11, 2), Local(11, 2, 8, 1, 1), Local(11, 2, 17, 45, 1), 3),
            new AttendanceRow(2, "Bob", D(11, 2), Local(11, 2, 10, 0, 1), Local(11, 2, 10, 0, 1), 1), // one grant: last = first
        ], report.Rows);
        Assert.Equal(TimeSpan.FromHours(1), report.Rows[0].FirstIn.Offset);
        Assert.Equal(0, report.UnattributedGrants);
    }

    [Fact]
    public void Grants_either_side_of_local_midnight_fall_on_two_days()
    {
        Grant(1, "Ada", Utc(11, 2, 22, 50));   // 23:50 CET, Nov 2
        Grant(1, "Ada", Utc(11, 2, 23, 10));   // 00:10 CET, Nov 3
        Grant(1, "Ada", Utc(11, 3, 8, 0));
        var rows = AttendanceReport.Build(_store, D(11, 1), D(11, 30), Berlin).Rows;
        Assert.Equal(
        [
            new AttendanceRow(1, "Ada", D(11, 2), Local(11, 2, 23, 50, 1), Local(11, 2, 23, 50, 1), 1),
            new AttendanceRow(1, "Ada", D(11, 3), Local(11, 3, 0, 10, 1), Local(11, 3, 9, 0, 1), 2),
        ], rows);
    }

    [Fact]
    public void The_same_grants_fall_on_the_days_of_the_zone_asked_for()
    {
        Grant(1, "Ada", Utc(11, 2, 23, 30));   // Berlin: 00:30 on Nov 3; New York (EST, -05:00): 18:30 on Nov 2
        Grant(1, "Ada", Utc(11, 3, 3, 0));     // Berlin: 04:00 on Nov 3; New York: 22:00 on Nov 2
        Grant(1, "Ada", Utc(11, 3, 5, 30));    // Berlin: 06:30 on Nov 3; New York: 00:30 on Nov 3

        var berlin = AttendanceReport.Build(_store, D(11, 1), D(11, 30), Berlin).Rows;
        Assert.Equal([new AttendanceRow(1, "Ada", D(11, 3), Local(11, 3, 0, 30, 1), Local(11, 3, 6, 30, 1), 3)], berlin);

        var newYork = AttendanceReport.Build(_store, D(11, 1), D(11, 30), NewYork).Rows;
        Assert.Equal(
        [
            new AttendanceRow(1, "Ada", D(11, 2), Local(11, 2, 18, 30, -5), Local(11, 2, 22, 0, -5), 2),
            new AttendanceRow(1, "Ada", D(11, 3), Local(11, 3, 0, 30, -5), Local(11, 3, 0, 30, -5), 1),
        ], newYork);
    }

    [Fact]
    public void On_the_autumn_DST_day_the_repeated_hour_is_ordered_by_instant_not_by_clock()
    {
        // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:00-03:00 happens twice.
        Grant(1, "Ada", Utc(10, 25, 0, 10));   // 02:10+02:00, the first time round
        Grant(1, "Ada", Utc(10, 25, 1, 5));    // 02:05+01:00, the second: later, though the clock shows earlier
        var row = Assert.Single(AttendanceReport.Build(_store, D(10, 25), D(10, 25), Berlin).Rows);
        Assert.Equal(Local(10, 25, 2, 10, 2), row.FirstIn);
        Assert.Equal(Local(10, 25, 2, 5, 1), row.LastOut);
        Assert.Equal(TimeSpan.FromHours(2), row.FirstIn.Offset);
        Assert.Equal(TimeSpan.FromHours(1), row.LastOut.Offset);
        Assert.Equal(2, row.Grants);
        Assert.True(AttendanceReport.OffsetChangesOn(Berlin, D(10, 25)));
        Assert.False(AttendanceReport.OffsetChangesOn(Berlin, D(10, 24)));
        Assert.False(AttendanceReport.OffsetChangesOn(Berlin, D(10, 26)));

        using var csv = new StringWriter();
        AttendanceReport.Build(_store, D(10, 25), D(10, 25), Berlin).WriteCsv(csv);
        Assert.EndsWith("1,Ada,2026-10-25,2026-10-25T02:10:00+02:00,2026-10-25T02:05:00+01:00,2\r\n", csv.ToString());
    }

    [Fact]
    public void On_the_spring_DST_day_the_missing_hour_is_skipped()
    {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
        Grant(1, "Ada", Utc(3, 29, 0, 59));    // 01:59+01:00
        Grant(1, "Ada", Utc(3, 29, 1, 0));     // 03:00+02:00, one minute later
        Grant(1, "Ada", Utc(3, 29, 21, 59));   // 23:59+02:00
        Grant(1, "Ada", Utc(3, 29, 22, 0));    // 00:00+02:00 on the 30th
        var rows = AttendanceReport.Build(_store, D(3, 29), D(3, 30), Berlin).Rows;
        Assert.Equal(
        [
            new AttendanceRow(1, "Ada", D(3, 29), Local(3, 29, 1, 59, 1), Local(3, 29, 23, 59, 2), 3),
            new AttendanceRow(1, "Ada", D(3, 30), Local(3, 30, 0, 0, 2), Local(3, 30, 0, 0, 2), 1),
        ], rows);
    }

    [Fact]
    public void A_zone_that_skips_midnight_on_its_DST_day_still_has_that_day()
    {
        // Havana, 2026-03-08: 00:00 CST (-05:00) becomes 01:00 CDT (-04:00): the day has no midnight.
        Grant(1, "Ada", Utc(3, 8, 4, 59));     // 23:59-05:00 on the 7th
        Grant(1, "Ada", Utc(3, 8, 5, 0));      // 01:00-04:00 on the 8th, its first instant
        Grant(1, "Ada", Utc(3, 9, 3, 59));     // 23:59-04:00 on the 8th, its last minute
        Grant(1, "Ada", Utc(3, 9, 4, 0));      // 00:00-04:00 on the 9th
        var row = Assert.Single(AttendanceReport.Build(_store, D(3, 8), D(3, 8), Havana).Rows);
        Assert.Equal(new AttendanceRow(1, "Ada", D(3, 8), Local(3, 8, 1, 0, -4), Local(3, 8, 23, 59, -4), 2), row);
    }

    [Fact]
    public void The_period_includes_both_end_days_and_nothing_beyond()
    {
        Grant(1, "Ada", Utc(10, 31, 22, 59));  // 23:59 CET Oct 31: before
        Grant(1, "Ada", Utc(10, 31, 23, 0));   // 00:00 CET Nov 1: first day
        Grant(1, "Ada", Utc(11, 30, 22, 59));  // 23:59 CET Nov 30: last day
        Grant(1, "Ada", Utc(11, 30, 23, 0));   // 00:00 CET Dec 1: after
        var rows = AttendanceReport.Build(_store, D(11, 1), D(11, 30), Berlin).Rows;
        Assert.Equal([D(11, 1), D(11, 30)], rows.Select(r => r.Date));
        Assert.Throws<ArgumentException>(() => AttendanceReport.Build(_store, D(11, 2), D(11, 1), Berlin));
        Assert.Empty(AttendanceReport.Build(_store, D(12, 2), D(12, 31), Berlin).Rows);
    }

    [Fact]
    public void Rows_are_by_name_then_person_then_date_and_carry_the_days_last_name()
    {
        Grant(3, "carol", Utc(11, 3, 8, 0));
        Grant(2, "Bob", Utc(11, 3, 8, 0));
        Grant(2, "Bob", Utc(11, 2, 8, 0));
        Grant(1, "Carol", Utc(11, 2, 8, 0));
        Grant(4, "Dan", Utc(11, 2, 8, 0));
        Grant(4, "Daniel", Utc(11, 2, 9, 0));     // renamed during the day: the later name
        Grant(4, null, Utc(11, 2, 10, 0));        // no name: not counted as a rename
        Grant(null, null, Utc(11, 2, 8, 0));      // no person: counted apart
        var report = AttendanceReport.Build(_store, D(11, 1), D(11, 30), Berlin);
        Assert.Equal([(2L, "Bob", D(11, 2)), (2L, "Bob", D(11, 3)), (1L, "Carol", D(11, 2)), (3L, "carol", D(11, 3)), (4L, "Daniel", D(11, 2))],
            report.Rows.Select(r => (r.PersonId, r.Name, r.Date)));
        Assert.Equal(3, report.Rows[^1].Grants);
        Assert.Equal(1, report.UnattributedGrants);
    }

    [Fact]
    public void The_CSV_follows_RFC_4180()
    {
        Grant(1, "Smith, \"Jo\"", Utc(11, 2, 7, 1, 2));
        Grant(2, "Line\nBreak", Utc(11, 2, 7, 0));
        Grant(3, "Plain", Utc(11, 2, 6, 0, 59));
        using var w = new StringWriter();
        AttendanceReport.Build(_store, D(11, 1), D(11, 30), Berlin).WriteCsv(w);
        Assert.Equal(
            "person_id,name,date,first_in,last_out,grants\r\n" +
            "2,\"Line\nBreak\",2026-11-02,2026-11-02T08:00:00+01:00,2026-11-02T08:00:00+01:00,1\r\n" +
            "3,Plain,2026-11-02,2026-11-02T07:00:59+01:00,2026-11-02T07:00:59+01:00,1\r\n" +
            "1,\"Smith, \"\"Jo\"\"\",2026-11-02,2026-11-02T08:01:02+01:00,2026-11-02T08:01:02+01:00,1\r\n",
            w.ToString());
    }

    [Fact]
    public void An_empty_period_gives_the_header_alone()
    {
        using var w = new StringWriter();
        AttendanceReport.Build(_store, D(11, 1), D(11, 30), Berlin).WriteCsv(w);
        Assert.Equal(AttendanceReport.CsvHeader + "\r\n", w.ToString());
    }
}
