using System.CommandLine;
using System.Globalization;
using Kiosk.Host.Events;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>events list/tail/append and attendance report: the event log from the command line.</summary>
internal static class EventCommands
{
    public static Command Events(KioskSettings settings)
    {
        var events = new Command("events", "The event log: grants, denials, unknown faces, door alarms, source failures");
        events.Subcommands.Add(List(settings));
        events.Subcommands.Add(Tail(settings));
        events.Subcommands.Add(Append(settings));
        return events;
    }

    private static Command List(KioskSettings settings)
    {
        var from = new Option<string?>("--from") { Description = "Start, ISO 8601 (2026-11-02 or 2026-11-02T08:00; local time unless an offset is given); default 24 hours ago" };
        var to = new Option<string?>("--to") { Description = "End (excluded), ISO 8601; default now" };
        var kind = new Option<EventKind?>("--kind") { Description = "Only this kind: " + string.Join(", ", Enum.GetNames<EventKind>()) };
        var cmd = new Command("list", "Events that occurred in a period, oldest first; exit code 1 when there are none") { from, to, kind };
        cmd.SetAction(r =>
        {
            var end = r.GetValue(to) is { } t ? ParseTime(t, "--to") : DateTimeOffset.UtcNow;
            var start = r.GetValue(from) is { } f ? ParseTime(f, "--from") : end.AddDays(-1);
            if (start > end) throw new UsageException("--from is after --to");
            using var store = EventStore.Open(settings.Events);
            var list = store.Query(start, end, r.GetValue(kind));
            var table = new Table().AddColumns("seq", "time", "kind", "person", "score", "tier", "detail", "sent");
            foreach (var s in list) table.AddRow(Cells(s));
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"{list.Count} event(s); the log {store.DatabasePath} holds {store.Count}, {store.UnsentCount} not yet sent");
            return list.Count == 0 ? 1 : 0;
        });
        return cmd;
    }

    private static Command Tail(KioskSettings settings)
    {
        var count = new Option<int>("--lines", "-n") { Description = "How many of the last events to show", DefaultValueFactory = _ => 20 };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep showing new events as they are appended (Ctrl+C ends)" };
        var cmd = new Command("tail", "The last events appended, one per line; with --follow, new ones as they come") { count, follow };
        cmd.SetAction(async (r, cancel) =>
        {
            int n = r.GetValue(count);
            if (n < 0) throw new UsageException("--lines must be 0 or more");
            using var store = EventStore.Open(settings.Events);
            long last = 0;
            foreach (var s in store.Latest(n)) { Console.WriteLine(Line(s)); last = s.Sequence; }
            if (!r.GetValue(follow)) return 0;
            if (last == 0 && store.Latest(1) is [var newest]) last = newest.Sequence; // -n 0: only what comes next
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(cancel))
                {
                    foreach (var s in store.After(last, 1000)) { Console.WriteLine(Line(s)); last = s.Sequence; }
                }
            }
            catch (OperationCanceledException) when (cancel.IsCancellationRequested)
            {
                // Ctrl+C or SIGTERM: the normal end of --follow (System.CommandLine exits 130 or 143, the shell's convention).
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// Hidden from help, but real: appends events as the service would, printing "SEQUENCE ID" per event once its
    /// Append has returned (durable) — for testing a door set-up, and for the crash test.
    /// </summary>
    private static Command Append(KioskSettings settings)
    {
        var kind = new Option<EventKind>("--kind") { Description = "Kind of event", Required = true };
        var count = new Option<int>("--count") { Description = "How many events", DefaultValueFactory = _ => 1 };
        var detail = new Option<string>("--detail") { Description = "Detail text", DefaultValueFactory = _ => "appended from the command line" };
        var personId = new Option<long?>("--person-id") { Description = "Person id" };
        var personName = new Option<string?>("--person-name") { Description = "Person name" };
        var score = new Option<float?>("--score") { Description = "Match score" };
        var tier = new Option<string?>("--tier") { Description = "Identification tier" };
        var id = new Option<Guid?>("--id") { Description = "Event id (only with --count 1); appending an id again changes nothing" };
        var at = new Option<string?>("--at") { Description = "When it occurred, ISO 8601; default now" };
        var cmd = new Command("append", "Append events to the log (for testing); prints the sequence and id of each once it is stored")
        {
            kind, count, detail, personId, personName, score, tier, id, at,
        };
        cmd.Hidden = true;
        cmd.SetAction(r =>
        {
            int n = r.GetValue(count);
            if (n < 1) throw new UsageException("--count must be 1 or more");
            if (r.GetValue(id) is not null && n != 1) throw new UsageException("--id goes with --count 1 only");
            var when = r.GetValue(at) is { } a ? ParseTime(a, "--at") : (DateTimeOffset?)null;
            using var store = EventStore.Open(settings.Events);
            var stdout = Console.Out;
            for (int i = 0; i < n; i++)
            {
                var e = new KioskEvent(r.GetValue(id) ?? Guid.NewGuid(), r.GetValue(kind), when ?? DateTimeOffset.UtcNow,
                    r.GetValue(personId), r.GetValue(personName), r.GetValue(score), r.GetValue(tier), r.GetValue(detail)!);
                long seq;
                try
                {
                    seq = store.Append(e);
                }
                catch (ArgumentException x)
                {
                    throw new UsageException(x.Message);
                }
                stdout.Write(string.Create(CultureInfo.InvariantCulture, $"{seq} {e.Id:D}\n"));
                stdout.Flush();
            }
            return 0;
        });
        return cmd;
    }

    public static Command Attendance(KioskSettings settings)
    {
        var attendance = new Command("attendance", "Attendance from the grants in the event log");
        var from = new Option<string>("--from") { Description = "First day, ISO 8601 (2026-11-01)", Required = true };
        var to = new Option<string>("--to") { Description = "Last day, included (2026-11-30)", Required = true };
        var csv = new Option<string?>("--csv") { Description = "Also write the report as CSV (RFC 4180) to FILE, or only to the standard output with -", HelpName = "FILE" };
        var zone = new Option<string?>("--time-zone") { Description = "IANA time zone of the days and times (Europe/Berlin); default the system's" };
        var report = new Command("report", "First grant, last grant and number of grants per person and day; exit code 1 when there are none")
        {
            from, to, csv, zone,
        };
        report.SetAction(r =>
        {
            var first = ParseDate(r.GetValue(from)!, "--from");
            var last = ParseDate(r.GetValue(to)!, "--to");
            if (first > last) throw new UsageException("--from is after --to");
            var tz = r.GetValue(zone) is { } id ? FindZone(id) : TimeZoneInfo.Local;
            AttendanceReport result;
            using (var store = EventStore.Open(settings.Events))
                result = AttendanceReport.Build(store, first, last, tz);
            string? file = r.GetValue(csv);
            if (file == "-")
            {
                result.WriteCsv(Console.Out);
            }
            else
            {
                WriteTable(result);
                if (file is not null)
                {
                    WriteCsvFile(result, file);
                    AnsiConsole.MarkupLineInterpolated($"wrote {result.Rows.Count} row(s) to {Path.GetFullPath(file)}");
                }
            }
            if (result.UnattributedGrants > 0)
                Console.Error.WriteLine($"warning: {result.UnattributedGrants} grant(s) in the period name no person and are in no row");
            return result.Rows.Count == 0 ? 1 : 0;
        });
        attendance.Subcommands.Add(report);
        return attendance;
    }

    private static void WriteTable(AttendanceReport report)
    {
        var table = new Table().AddColumns("person", "name", "date", "first in", "last out", "grants");
        var transition = new Dictionary<DateOnly, bool>();
        foreach (var row in report.Rows)
        {
            // On a DST change day a clock time alone can name two instants: the offset goes with it then.
            if (!transition.TryGetValue(row.Date, out bool changes))
                transition[row.Date] = changes = AttendanceReport.OffsetChangesOn(report.Zone, row.Date);
            string format = changes ? "HH:mm:ss zzz" : "HH:mm:ss";
            table.AddRow(row.PersonId.ToString(CultureInfo.InvariantCulture), Markup.Escape(row.Name),
                row.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                row.FirstIn.ToString(format, CultureInfo.InvariantCulture), row.LastOut.ToString(format, CultureInfo.InvariantCulture),
                row.Grants.ToString(CultureInfo.InvariantCulture));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"{report.Rows.Count} person-day(s), {report.From:yyyy-MM-dd} to {report.To:yyyy-MM-dd}, times in {report.Zone.Id}");
    }

    /// <summary>Written beside the target and moved over it, so a reader never sees half a file; owner-only (names and times of people).</summary>
    private static void WriteCsvFile(AttendanceReport report, string path)
    {
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new UsageException($"--csv {path} is a directory");
        string tmp = full + ".partial";
        var create = new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        try
        {
            using (var stream = new FileStream(tmp, create))
            using (var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
                report.WriteCsv(writer);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(tmp);
            throw new UsageException($"--csv {path} cannot be written: {e.Message}");
        }
    }

    internal static DateOnly ParseDate(string text, string option) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
            ? d
            : throw new UsageException($"{option} is '{text}'; give a date as YYYY-MM-DD");

    /// <summary>ISO 8601; without an offset, the local time zone's.</summary>
    internal static DateTimeOffset ParseTime(string text, string option) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeLocal | DateTimeStyles.AllowWhiteSpaces, out var t)
            ? t
            : throw new UsageException($"{option} is '{text}'; give a time as ISO 8601 (2026-11-02, 2026-11-02T08:00, 2026-11-02T08:00+01:00)");

    internal static TimeZoneInfo FindZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new UsageException($"--time-zone '{id}' is not a time zone this system knows (an IANA name such as Europe/Berlin; is tzdata installed?)");
        }
    }

    private static string[] Cells(StoredEvent s)
    {
        var e = s.Event;
        return
        [
            s.Sequence.ToString(CultureInfo.InvariantCulture),
            e.OccurredUtc.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss.fff zzz", CultureInfo.InvariantCulture),
            e.Kind.ToString(),
            Markup.Escape(Person(e)),
            e.Score?.ToString("F3", CultureInfo.InvariantCulture) ?? "",
            Markup.Escape(e.Tier ?? ""),
            Markup.Escape(e.Detail),
            s.Sent ? "yes" : "no",
        ];
    }

    private static string Person(KioskEvent e) => (e.PersonId, e.PersonName) switch
    {
        (long id, string name) => string.Create(CultureInfo.InvariantCulture, $"{id} {name}"),
        (long id, null) => id.ToString(CultureInfo.InvariantCulture),
        (null, string name) => name,
        _ => "",
    };

    private static string Line(StoredEvent s)
    {
        var e = s.Event;
        string score = e.Score is float f ? string.Create(CultureInfo.InvariantCulture, $" score {f:F3}") : "";
        string tier = e.Tier is { } t ? $" ({t})" : "";
        string person = Person(e);
        return string.Create(CultureInfo.InvariantCulture,
            $"{s.Sequence} {e.OccurredUtc.ToLocalTime():yyyy-MM-dd HH:mm:ss.fff zzz} {e.Kind}{(person.Length > 0 ? " " + person : "")}{score}{tier}{(e.Detail.Length > 0 ? ": " + e.Detail.ReplaceLineEndings(" ") : "")}{(s.Sent ? "" : " [unsent]")}");
    }
}
