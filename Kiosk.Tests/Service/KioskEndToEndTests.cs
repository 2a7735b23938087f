using Kiosk.Host;
using Kiosk.Host.Cli;
using Kiosk.Host.Events;
using Kiosk.Host.Recognition;
using Kiosk.Tests.Faces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kiosk.Tests.Service;

/// <summary>
/// The whole kiosk on a generated clip (real ffmpeg, real models, real SQLite, simulated door): three enrolled people
/// walk up one after another, then a stranger.
/// </summary>
// Paced in real time against a clip: run alone, so that a busy machine cannot stall the camera mid-visit.
[Collection(Kiosk.Tests.Inference.IsolatedCollection.Name)]
public sealed class KioskEndToEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Each_enrolled_person_is_granted_once_the_stranger_never_and_the_door_pulses_only_on_grants()
    {
        string work = Directory.CreateTempSubdirectory("kiosk-e2e-").FullName;
        try
        {
            var settings = KioskSettings.Load(new ConfigurationBuilder().Build());
            // Debug lines (tracks started and ended, camera, decisions) in the test's output: a failure shows its timeline.
            var o = await ServiceCommands.RunDemoAsync(settings, TestPaths.PairsDev, work, console: null, CancellationToken.None,
                b => b.AddProvider(new TestOutputLoggerProvider(output)).SetMinimumLevel(LogLevel.Debug));
            output.WriteLine($"{o.Frames} frames, {o.FramesPerSecond:F1} frames/s");

            var grants = o.Decisions.Where(d => d.Verdict == TrackVerdict.Grant).ToList();
            foreach (var name in o.Known) Assert.Single(grants, g => g.PersonName == name);
            Assert.Equal(3, grants.Count);
            Assert.DoesNotContain(o.Decisions, d => d.Verdict == TrackVerdict.Grant && d.PersonName is null);
            Assert.Contains(o.Decisions, d => d.Verdict == TrackVerdict.Deny); // the stranger was seen and turned away
            Assert.Equal(grants.Count, o.Pulses);
            Assert.All(grants, g => Assert.True(g.Latency < TimeSpan.FromSeconds(2), $"{g.PersonName}: {g.Latency}"));
            Assert.True(o.Ok);

            // On record, in SQLite: the grants with their people, the stranger, and attendance from the grants.
            using var store = EventStore.Open(settings.Events with { DatabasePath = Path.Combine(work, "events.db") });
            var events = store.Query(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
            Assert.Equal(3, events.Count(e => e.Event.Kind == EventKind.Granted));
            Assert.Contains(events, e => e.Event.Kind == EventKind.UnknownFace);
            Assert.Equal(events.Count, events.Select(e => e.Event.Id).Distinct().Count());
            Assert.Equal(0, store.SnapshotCount); // no face image is stored unless configured
            var today = DateOnly.FromDateTime(DateTime.UtcNow);
            var report = AttendanceReport.Build(store, today.AddDays(-1), today.AddDays(1), TimeZoneInfo.Utc);
            Assert.Equal(o.Known.Order(), report.Rows.Select(r => r.Name).Order());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
