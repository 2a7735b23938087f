using System.CommandLine;
using System.Globalization;
using Kiosk.Hardware.Door;
using Kiosk.Hardware.Simulated;
using Kiosk.Host.Demo;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Host.Recognition;
using Kiosk.Host.Service;
using Kiosk.Vision.Capture;
using Kiosk.Vision.Evaluation;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Kiosk.Host.Cli;

/// <summary>run: the long-running service; demo: the whole kiosk on a generated clip with a simulated door.</summary>
internal static class ServiceCommands
{
    public static Command Run(KioskSettings settings)
    {
        var camera = new Option<string?>("--camera") { Description = "Override Camera:Device (a /dev/videoN, an rtsp:// or http:// URL, or a video file)" };
        var simulated = new Option<bool>("--simulated-door") { Description = "Drive a simulated door instead of the GPIO chip (Door:Driver=simulated)" };
        var cmd = new Command("run", "Run the kiosk: camera to door, until stopped (the systemd service's command)") { camera, simulated };
        cmd.SetAction(async (r, ct) =>
        {
            var config = KioskSettings.BuildConfiguration();
            var service = ServiceSettingsLoader.Load(config, settings);
            if (r.GetValue(camera) is { Length: > 0 } device)
                service = service with { Camera = service.Camera with { Device = device, Kind = KindOf(device) } };
            if (r.GetValue(simulated)) service = service with { Door = service.Door with { Driver = DoorOptions.SimulatedDriver } };

            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Configuration.AddConfiguration(config);
            builder.Logging.AddConfiguration(config.GetSection("Logging"));
            // Under systemd (JOURNAL_STREAM set): one line per message with a syslog priority prefix the journal reads.
            if (Environment.GetEnvironmentVariable("JOURNAL_STREAM") is not null) builder.Logging.AddSystemdConsole();
            else builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
            builder.Services.AddSingleton(service);
            builder.Services.AddSingleton(TimeProvider.System);
            builder.Services.AddHostedService(sp => new KioskService(service, sp.GetRequiredService<ILoggerFactory>(),
                sp.GetRequiredService<IHostApplicationLifetime>(), TimeProvider.System));
            builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
            using var host = builder.Build();
            await host.RunAsync(ct).ConfigureAwait(false);
            return Environment.ExitCode;
        });
        return cmd;
    }

    internal static FrameSourceKind KindOf(string device) =>
        device.StartsWith("/dev/video", StringComparison.Ordinal) ? FrameSourceKind.V4l2
        : device.Contains("://", StringComparison.Ordinal) ? FrameSourceKind.Network
        : FrameSourceKind.File;

    public static Command Demo(KioskSettings settings)
    {
        var photos = new Option<DirectoryInfo?>("--photos") { Description = "Labelled photos (default ../shared/datasets/pairs-dev)" };
        var keep = new Option<DirectoryInfo?>("--keep") { Description = "Keep the clip, gallery and event log in this folder (default: a temporary one, deleted)" };
        var cmd = new Command("demo", "The kiosk on a generated clip: enroll three people, let them and a stranger walk up, print the timeline") { photos, keep };
        cmd.SetAction(async (r, ct) =>
        {
            string dir = r.GetValue(photos)?.FullName ?? DefaultPhotos();
            string work = r.GetValue(keep)?.FullName ?? Directory.CreateTempSubdirectory("kiosk-demo-").FullName;
            Directory.CreateDirectory(work);
            try
            {
                var outcome = await RunDemoAsync(settings, dir, work, AnsiConsole.Console, ct).ConfigureAwait(false);
                return outcome.Ok ? 0 : 1;
            }
            finally
            {
                if (r.GetValue(keep) is null) Directory.Delete(work, recursive: true);
            }
        });
        return cmd;
    }

    internal sealed record DemoOutcome(bool Ok, IReadOnlyList<DecisionRecord> Decisions, int Pulses, IReadOnlyList<string> Known,
        string Stranger, IReadOnlyList<StoredEvent> Events, double FramesPerSecond, long Frames);

    /// <summary>
    /// Clip from the photos (three known people each walking up, then a stranger), gallery enrolled from other photos
    /// of the known ones, the service run on the clip with a simulated door, and the outcome checked: each known person
    /// granted exactly once, the stranger never, a door pulse per grant and no other, every decision in SQLite.
    /// </summary>
    internal static async Task<DemoOutcome> RunDemoAsync(KioskSettings settings, string photoDir, string work, IAnsiConsole? console,
        CancellationToken ct, Action<ILoggingBuilder>? logging = null)
    {
        var pairs = Directory.GetFiles(photoDir, "*.csv").SelectMany(PairListReader.Read).ToList();
        var groups = IdentityGroups.FromPairs(pairs).Where(g => g.Count >= 4).ToList();
        if (groups.Count < 4) throw new UsageException($"{photoDir} has too few people with four or more photos for the demo");
        var known = groups.Take(3).ToList();
        var stranger = groups[^1];
        string P(string name) => Path.Combine(photoDir, name);

        string clip = Path.Combine(work, "demo.mp4");
        var visits = known.Select(g => new ClipVisit(P(g[2]), TimeSpan.FromSeconds(3))).Append(new ClipVisit(P(stranger[0]), TimeSpan.FromSeconds(3))).ToList();
        console?.MarkupLine($"building the demo clip: {visits.Count} visits ({string.Join(", ", visits.Select(v => Path.GetFileName(v.Photo)))})");
        DemoClip.Build(visits, clip, gap: TimeSpan.FromSeconds(1.5));
        var clipLength = TimeSpan.FromSeconds(1.5 + visits.Count * 4.5);

        var kiosk = settings with
        {
            Gallery = settings.Gallery with { DatabasePath = Path.Combine(work, "gallery.db"), KeyPath = Path.Combine(work, "gallery.key") },
            Events = settings.Events with { DatabasePath = Path.Combine(work, "events.db") },
        };
        var names = new List<string>();
        using (var gallery = new GalleryService(GalleryStore.Open(kiosk.Gallery), true, new FacePipelineOptions { Inference = kiosk.Inference },
                   GalleryCommands.Identification(kiosk, Vision.Models.ModelCatalog.Default)))
        {
            int n = 0;
            foreach (var g in known)
            {
                string name = $"Person {(char)('A' + n++)}";
                var result = gallery.Enroll(new PersonDraft(name), g.Take(2).Select(f => new EnrollmentPhoto(f, ImageDecoder.Decode(P(f)))));
                if (result.Person is null) throw new InvalidOperationException($"demo enrollment of {name} failed: {string.Join("; ", result.Rejected)}");
                names.Add(name);
                console?.MarkupLineInterpolated($"enrolled {name} from {string.Join(", ", g.Take(2))}; visits as {g[2]}");
            }
            console?.MarkupLineInterpolated($"stranger (never enrolled): {stranger[0]}");
        }

        var service = new ServiceSettings(kiosk,
            // A clip is not a camera: a restart would replay it from the start, so be slow to call it stalled.
            new FrameSourceOptions { Kind = FrameSourceKind.File, Device = clip, Loop = false, Realtime = true, StallTimeout = TimeSpan.FromSeconds(10) },
            new DoorOptions { Driver = DoorOptions.SimulatedDriver, LockLine = 17, GreenLedLine = 27, RedLedLine = 22, BuzzerLine = 23 },
            new RecognitionOptions(), AccessSchedule.Always, kiosk.Events);
        using var loggers = LoggerFactory.Create(logging ?? (b => b.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; })
            .SetMinimumLevel(LogLevel.Warning)));
        var lifetime = new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(loggers.CreateLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>());
        var chip = new SimulatedGpioChip();
        var kioskService = new KioskService(service, loggers, lifetime, TimeProvider.System, chip);
        var decisions = new List<DecisionRecord>();
        var start = DateTimeOffset.UtcNow;
        kioskService.Decided += d => { lock (decisions) decisions.Add(d); };
        console?.MarkupLine($"running the kiosk on the clip ({clipLength.TotalSeconds:F0} s, simulated door)");
        await kioskService.StartAsync(ct).ConfigureAwait(false);
        try
        {
            // Until the clip has been played to its end (not a fixed time: a busy or paused machine plays it later),
            // then a moment for the last frames; bounded in case the camera never starts.
            var deadline = DateTimeOffset.UtcNow + clipLength * 3 + TimeSpan.FromSeconds(10);
            while (kioskService.Source?.Status.State != FrameSourceState.Stopped && DateTimeOffset.UtcNow < deadline)
                await Task.Delay(100, ct).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(1), ct).ConfigureAwait(false);
        }
        finally
        {
            await kioskService.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        var loop = kioskService.Loop;
        var relay = kioskService.SimulatedDriver?.Changes.Where(c => c.Line == 17).ToList() ?? [];
        int pulses = relay.Count(c => c.Active && !c.IsRequest);
        IReadOnlyList<StoredEvent> events;
        using (var store = EventStore.Open(kiosk.Events)) events = store.Query(start.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));

        var grants = decisions.Where(d => d.Verdict == TrackVerdict.Grant).ToList();
        bool ok = names.All(n => grants.Count(g => g.PersonName == n) == 1)
                  && grants.Count == names.Count
                  && pulses == grants.Count
                  && events.Count(e => e.Event.Kind == EventKind.Granted) == grants.Count;
        double seconds = (DateTimeOffset.UtcNow - start).TotalSeconds;
        if (console is not null)
        {
            var table = new Table().AddColumns("t (s)", "decision", "who", "score", "tier", "latency ms", "door", "why");
            foreach (var d in decisions.OrderBy(d => d.DecidedUtc))
                table.AddRow(((d.DecidedUtc - start).TotalSeconds).ToString("F1", CultureInfo.InvariantCulture),
                    d.Verdict == TrackVerdict.Grant ? "[green]GRANT[/]" : "[red]DENY[/]", Markup.Escape(d.PersonName ?? "unknown"),
                    float.IsNaN(d.Score) ? "" : d.Score.ToString("F3", CultureInfo.InvariantCulture), d.Tier,
                    d.Latency.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture), d.DoorOpened ? "pulse" : "", Markup.Escape(d.Reason));
            console.Write(table);
            foreach (var c in relay)
                console.MarkupLineInterpolated($"  relay line 17 {(c.Active ? "UNLOCKED" : "locked")} at {(c.Timestamp - start).TotalSeconds:F1} s");
            console.MarkupLineInterpolated($"{loop?.Frames ?? 0} frames, {loop?.Looks ?? 0} looks, {grants.Count} grants, {pulses} door pulses, {events.Count} events in SQLite");
            console.MarkupLine(ok ? "[green]demo OK: each known person granted once, the stranger never, one pulse per grant[/]" : "[red]demo FAILED its checks[/]");
        }
        return new DemoOutcome(ok, decisions, pulses, names, stranger[0], events, (loop?.Frames ?? 0) / seconds, loop?.Frames ?? 0);
    }

    private static string DefaultPhotos() =>
        SharedData.PairsDev() ?? throw new UsageException("demo photos not found; pass --photos DIR (labelled pairs CSVs and their photos)");
}
