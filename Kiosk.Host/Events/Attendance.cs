using System.Globalization;

namespace Kiosk.Host.Events;

/// <summary>
/// One person's day: their first and last grant (every grant is an attendance mark) and how many there were.
/// </summary>
/// <param name="Date">The local date, in the report's time zone.</param>
/// <param name="FirstIn">The first grant of the day, local time with the zone's offset at that instant.</param>
/// <param name="LastOut">The last grant of the day; equal to <paramref name="FirstIn"/> when there was one.
/// Ordered by instant, not by clock: on the autumn DST day 02:05+01:00 comes after 02:10+02:00.</param>
/// <param name="Name">The name carried by the day's last grant that had one (people may be renamed).</param>
public sealed record AttendanceRow(long PersonId, string Name, DateOnly Date, DateTimeOffset FirstIn, DateTimeOffset LastOut, int Grants);

/// <summary>Attendance per person and local day, built from the <see cref="EventKind.Granted"/> events of the log.</summary>
/// <remarks>
/// Days are local dates in the report's zone: a grant at 23:50 and one at 00:10 fall on two days, and a DST
/// change day is one day however long it is. The log keeps what <see cref="EventStoreOptions.MaxUnsentEvents"/>
/// lets it keep: a report can only cover days whose events are still stored.
/// </remarks>
public sealed class AttendanceReport
{
    public DateOnly From { get; }
    public DateOnly To { get; }
    public TimeZoneInfo Zone { get; }

    /// <summary>One row per person and day with at least one grant, by name, person id, then date.</summary>
    public IReadOnlyList<AttendanceRow> Rows { get; }

    /// <summary>Grants in the period without a person id (none are expected): counted here, not in any row.</summary>
    public int UnattributedGrants { get; }

    private AttendanceReport(DateOnly from, DateOnly to, TimeZoneInfo zone, IReadOnlyList<AttendanceRow> rows, int unattributed)
    {
        From = from;
        To = to;
        Zone = zone;
        Rows = rows;
        UnattributedGrants = unattributed;
    }

    /// <summary>The report for the local days <paramref name="from"/> to <paramref name="to"/>, both included.</summary>
    /// <exception cref="ArgumentException"><paramref name="from"/> is after <paramref name="to"/>.</exception>
    /// <exception cref="EventStoreException">The log could not be read.</exception>
    public static AttendanceReport Build(EventStore store, DateOnly from, DateOnly to, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(zone);
        if (from > to) throw new ArgumentException($"the report starts ({from:yyyy-MM-dd}) after it ends ({to:yyyy-MM-dd})", nameof(from));

        // No local midnight is converted (some zones skip it on their DST day): a UTC window a day wider on each
        // side than any offset, then each grant's own local date decides.
        var windowStart = new DateTimeOffset(from.AddDays(-1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var windowEnd = new DateTimeOffset(to.AddDays(2).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var days = new Dictionary<(long Person, DateOnly Date), Day>();
        int unattributed = 0;
        foreach (var stored in store.Query(windowStart, windowEnd, EventKind.Granted))
        {
            var e = stored.Event;
            var local = TimeZoneInfo.ConvertTime(e.OccurredUtc, zone);
            var date = DateOnly.FromDateTime(local.DateTime);
            if (date < from || date > to) continue;
            if (e.PersonId is not long person)
            {
                unattributed++;
                continue;
            }
            if (!days.TryGetValue((person, date), out var day)) days[(person, date)] = day = new Day(local);
            day.Add(local, e.PersonName);
        }

        var rows = days
            .Select(d => new AttendanceRow(d.Key.Person, d.Value.Name ?? "", d.Key.Date, d.Value.First, d.Value.Last, d.Value.Grants))
            .OrderBy(r => r.Name, StringComparer.OrdinalIgnoreCase).ThenBy(r => r.Name, StringComparer.Ordinal)
            .ThenBy(r => r.PersonId).ThenBy(r => r.Date)
            .ToList();
        return new AttendanceReport(from, to, zone, rows, unattributed);
    }

    private sealed class Day(DateTimeOffset first)
    {
        public DateTimeOffset First = first, Last = first;
        private DateTimeOffset _named = DateTimeOffset.MinValue;
        public string? Name;
        public int Grants;

        public void Add(DateTimeOffset at, string? name)
        {
            Grants++;
            if (at < First) First = at;
            if (at > Last) Last = at;
            if (!string.IsNullOrWhiteSpace(name) && at >= _named)
            {
                _named = at;
                Name = name;
            }
        }
    }

    /// <summary>The CSV header, in column order.</summary>
    public const string CsvHeader = "person_id,name,date,first_in,last_out,grants";

    /// <summary>
    /// Writes the rows as CSV (RFC 4180: CRLF line ends, a header row, fields with a comma, quote or line break in
    /// quotes, quotes doubled). Dates are ISO 8601 (2026-11-02); times ISO 8601 local date and time with the
    /// offset, to the second (2026-11-02T08:01:02+01:00), so the repeated hour of a DST day stays unambiguous.
    /// </summary>
    public void WriteCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(CsvHeader);
        writer.Write("\r\n");
        foreach (var r in Rows)
        {
            writer.Write(r.PersonId.ToString(CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.Write(CsvField(r.Name));
            writer.Write(',');
            writer.Write(r.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            writer.Write(',');
            writer.Write(IsoLocal(r.FirstIn));
            writer.Write(',');
            writer.Write(IsoLocal(r.LastOut));
            writer.Write(',');
            writer.Write(r.Grants.ToString(CultureInfo.InvariantCulture));
            writer.Write("\r\n");
        }
    }

    /// <summary>2026-11-02T08:01:02+01:00.</summary>
    public static string IsoLocal(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    /// <summary>True when the zone's offset changes during this local date (a DST change day): clock times alone are ambiguous then.</summary>
    public static bool OffsetChangesOn(TimeZoneInfo zone, DateOnly date)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var start = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        // Every instant that is this date somewhere lies within a day and a half of UTC midnight; sample the offsets.
        TimeSpan? seen = null;
        for (var t = start.AddHours(-15); t <= start.AddHours(39); t = t.AddMinutes(15))
        {
            var local = TimeZoneInfo.ConvertTime(t, zone);
            if (DateOnly.FromDateTime(local.DateTime) != date) continue;
            if (seen is { } s && s != local.Offset) return true;
            seen = local.Offset;
        }
        return false;
    }

    private static string CsvField(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") < 0 ? value : "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
