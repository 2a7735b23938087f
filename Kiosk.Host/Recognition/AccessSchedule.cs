using System.Globalization;
using System.Text.RegularExpressions;

namespace Kiosk.Host.Recognition;

/// <summary>
/// When members of a group may enter: windows such as "Mon-Fri 07:00-19:00" or "Sat 09:00-13:00" in the kiosk's
/// local time zone. A person without groups, or in a group without windows, may enter at any time (within their
/// valid-from/until); a person in scheduled groups may enter when any of their groups' windows is open.
/// </summary>
public sealed partial class AccessSchedule
{
    private readonly Dictionary<string, List<Window>> _groups = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeZoneInfo _zone;

    private readonly record struct Window(DayOfWeek FirstDay, DayOfWeek LastDay, TimeOnly From, TimeOnly To)
    {
        public bool Contains(DayOfWeek day, TimeOnly t)
        {
            bool dayIn = FirstDay <= LastDay ? day >= FirstDay && day <= LastDay : day >= FirstDay || day <= LastDay;
            return dayIn && t >= From && t < To;
        }
    }

    public AccessSchedule(IReadOnlyDictionary<string, IReadOnlyList<string>> groups, TimeZoneInfo? zone = null)
    {
        _zone = zone ?? TimeZoneInfo.Local;
        foreach (var (group, specs) in groups)
            _groups[group] = specs.Select(s => Parse(group, s)).ToList();
    }

    public static AccessSchedule Always { get; } = new(new Dictionary<string, IReadOnlyList<string>>());

    [GeneratedRegex(@"^\s*(?<d1>Mon|Tue|Wed|Thu|Fri|Sat|Sun)(\s*-\s*(?<d2>Mon|Tue|Wed|Thu|Fri|Sat|Sun))?\s+(?<t1>\d{2}:\d{2})\s*-\s*(?<t2>\d{2}:\d{2})\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex WindowPattern();

    private static Window Parse(string group, string spec)
    {
        var m = WindowPattern().Match(spec);
        if (!m.Success)
            throw new SettingsException($"Schedules:{group} has '{spec}'; windows look like 'Mon-Fri 07:00-19:00' or 'Sat 09:00-13:00'");
        DayOfWeek Day(string s) => Enum.GetValues<DayOfWeek>().First(d => d.ToString()[..3].Equals(s, StringComparison.OrdinalIgnoreCase));
        var d1 = Day(m.Groups["d1"].Value);
        var d2 = m.Groups["d2"].Success ? Day(m.Groups["d2"].Value) : d1;
        if (!TimeOnly.TryParseExact(m.Groups["t1"].Value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t1) ||
            !TimeOnly.TryParseExact(m.Groups["t2"].Value, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t2) || t2 <= t1)
            throw new SettingsException($"Schedules:{group} has '{spec}': times must be HH:mm with the end after the start");
        return new Window(d1, d2, t1, t2);
    }

    /// <summary>Null when the person may enter at <paramref name="nowUtc"/>, else why not.</summary>
    public string? Check(Gallery.Person person, DateTimeOffset nowUtc)
    {
        if (!person.Enabled) return "person disabled";
        if (person.ValidFrom is { } from && nowUtc < from) return $"not valid before {from:u}";
        if (person.ValidUntil is { } until && nowUtc > until) return $"not valid after {until:u}";
        var scheduled = person.Groups.Where(g => _groups.TryGetValue(g, out var w) && w.Count > 0).ToList();
        if (person.Groups.Count == 0 || scheduled.Count < person.Groups.Count) return null; // an unscheduled group: any time
        var local = TimeZoneInfo.ConvertTime(nowUtc, _zone);
        var t = TimeOnly.FromDateTime(local.DateTime);
        foreach (var g in scheduled)
            foreach (var w in _groups[g])
                if (w.Contains(local.DayOfWeek, t)) return null;
        return $"outside the schedule of {string.Join(", ", scheduled)}";
    }
}
