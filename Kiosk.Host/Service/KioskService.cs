using Kiosk.Hardware.Door;
using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Simulated;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Recognition;
using Kiosk.Host.Systemd;
using Kiosk.Vision.Capture;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kiosk.Host.Service;

/// <summary>Everything the service is built from, read and validated at start.</summary>
public sealed record ServiceSettings(KioskSettings Kiosk, FrameSourceOptions Camera, DoorOptions Door, RecognitionOptions Recognition,
    AccessSchedule Schedule, EventStoreOptions Events)
{
    /// <summary>How often throughput is logged and shown as the systemd status.</summary>
    public TimeSpan StatsInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The site's broker, when configured (Mqtt:Host): status, events out, commands in, fleet gallery.</summary>
    public MqttLinkSettings? Mqtt { get; init; }
}

/// <summary>
/// The kiosk as a systemd service: camera, gallery, door and event log wired into the recognition loop. Tells systemd
/// READY once running, STATUS as it goes, WATCHDOG from the loop's heartbeat (so a hung loop is restarted), STOPPING
/// at the end; the door is locked on every way out. A failure it cannot recover from is logged as critical and stops
/// the host, so systemd restarts the service.
/// </summary>
public sealed class KioskService(ServiceSettings settings, ILoggerFactory loggers, IHostApplicationLifetime lifetime, TimeProvider time,
    SimulatedGpioChip? simulatedChip = null) : BackgroundService
{
    private readonly ILogger _logger = loggers.CreateLogger("Kiosk");

    /// <summary>Raised for every decision the loop acts on (the demo's timeline).</summary>
    public event Action<DecisionRecord>? Decided;
    public DoorController? Door { get; private set; }
    /// <summary>The simulated driver, when the door is simulated: its recorded line changes make the demo's timeline.</summary>
    public SimulatedGpioDriver? SimulatedDriver { get; private set; }
    public RecognitionLoop? Loop { get; private set; }
    public FfmpegFrameSource? Source { get; private set; }
    /// <summary>The broker link, when MQTT is configured and libmosquitto could be loaded.</summary>
    public MqttLink? Mqtt { get; private set; }
    /// <summary>Where each model runs: backend, device, and any fallback from what was asked for.</summary>
    public InferenceReport Placements { get; } = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var notifier = new SystemdNotifier(loggers.CreateLogger<SystemdNotifier>());
        EventStore? events = null;
        GalleryService? gallery = null;
        FfmpegFrameSource? source = null;
        IGpioDriver? driver = null;
        LivenessChecker? liveness = null;
        bool running = false; // past start-up: a failure now is not the configuration's
        try
        {
            // The door first: its relay line is claimed in the locked state before anything else can fail.
            if (settings.Door.IsSimulated)
            {
                var chip = simulatedChip ?? new SimulatedGpioChip(settings.Door.ChipPath, stateFile: settings.Door.SimulatedStateFile);
                // The simulated door stands shut: its contact (if one is configured) is held in the closed state, as a
                // wired contact on a closed door would be; tests open it with SimulatedGpioChip.Drive.
                if (settings.Door.DoorContactLine >= 0 && simulatedChip is null)
                    chip.Drive(settings.Door.DoorContactLine, high: !settings.Door.DoorContactActiveLow);
                driver = SimulatedDriver = new SimulatedGpioDriver(chip, time, loggers.CreateLogger<SimulatedGpioDriver>());
            }
            else
                driver = new CharacterDeviceGpioDriver(settings.Door.ChipPath, loggers.CreateLogger<CharacterDeviceGpioDriver>());
            Door = new DoorController(driver, settings.Door, time, loggers.CreateLogger<DoorController>());
            events = EventStore.Open(settings.Events, loggers.CreateLogger<EventStore>());
            var store = events;
            Door.EventRaised += e =>
            {
                EventKind? kind = e.Kind switch
                {
                    DoorEventKind.DoorForced => EventKind.DoorForced,
                    DoorEventKind.DoorHeldOpen => EventKind.DoorHeldOpen,
                    DoorEventKind.DoorClosed => EventKind.DoorClosed,
                    DoorEventKind.Unlocked when e.Detail.StartsWith("exit button", StringComparison.Ordinal) => EventKind.ExitButton,
                    _ => null, // unlocks for grants are recorded as the grant itself
                };
                if (kind is { } k) store.Append(KioskEvent.Now(k, e.Detail));
            };
            var k = settings.Kiosk;
            // Where each model runs (and any fallback) is logged once and shown in the status.
            var inference = k.Inference with { Logger = loggers.CreateLogger("Kiosk.Inference"), Report = Placements };
            var pipeline = new FacePipelineOptions
            {
                Inference = inference, PadAndRetry = false, MultiScale = false,
                Embedder = k.EmbedderSpec(k.Embedder), Detector = k.DetectorSpec(), Landmarks = k.LandmarkSpec(),
            };
            gallery = new GalleryService(GalleryStore.Open(k.Gallery), k.Gallery.KeepCrops, pipeline,
                Cli.GalleryCommands.Identification(k, pipeline.Embedder));
            Source = source = new FfmpegFrameSource(settings.Camera, loggers.CreateLogger<FfmpegFrameSource>(), time);
            bool cameraDown = false;
            source.StatusChanged += s =>
            {
                // One event when the camera goes away and one when it is back, however many restarts in between.
                if (s.State is FrameSourceState.Stalled or FrameSourceState.Failed or FrameSourceState.Restarting && !cameraDown)
                {
                    cameraDown = true;
                    store.Append(KioskEvent.Now(EventKind.SourceFailed, s.LastError ?? s.State.ToString()));
                }
                else if (s.State == FrameSourceState.Running && cameraDown)
                {
                    cameraDown = false;
                    store.Append(KioskEvent.Now(EventKind.SourceRecovered, $"after {s.Restarts} restart(s)"));
                }
                notifier.Status($"camera {s.State.ToString().ToLowerInvariant()}, {s.FramesRead} frames, {s.FramesDropped} dropped");
            };
            liveness = settings.Recognition.Liveness ? new LivenessChecker(LivenessSpec.Default, inference) : null;
            Loop = new RecognitionLoop(source, gallery, Door, events, settings.Schedule, settings.Recognition, time, _logger, liveness,
                settings.Events.KeepSnapshots);
            Loop.Decided += d => Decided?.Invoke(d);
            long lastPing = time.GetTimestamp(), lastStats = lastPing, framesAtStats = 0;
            var ping = notifier.WatchdogPingPeriod;
            var loop = Loop;
            var camera = source;
            Loop.Heartbeat += () =>
            {
                var sinceStats = time.GetElapsedTime(lastStats);
                if (sinceStats >= settings.StatsInterval)
                {
                    double fps = (loop.Frames - framesAtStats) / sinceStats.TotalSeconds;
                    var st = camera.Status;
                    Log.Stats(_logger, fps, loop.Frames, st.FramesDropped, loop.Looks, gallery.FastIndex.PersonCount);
                    // What `systemctl status kiosk` shows: throughput, and whether the site's broker has the events.
                    string mqtt = Mqtt is { } link ? $", MQTT {(link.Client.IsConnected ? "connected" : "down")}, {events.UnsentCount} events unsent" : "";
                    // A model running somewhere else than asked (the NCS2 gone) is worth a line of its own in the status.
                    string fallback = Placements.AnyFallback ? $", inference: {Placements.Summary()}" : "";
                    notifier.Status($"{fps:F1} fps, {loop.Frames} frames, {loop.Looks} looks, {gallery.FastIndex.PersonCount} people{mqtt}{fallback}");
                    lastStats = time.GetTimestamp();
                    framesAtStats = loop.Frames;
                }
                if (ping is { } p && time.GetElapsedTime(lastPing) >= p)
                {
                    lastPing = time.GetTimestamp();
                    notifier.Watchdog();
                }
            };
            Mqtt = StartMqtt(gallery, events);
            events.Append(KioskEvent.Now(EventKind.ServiceStarted, $"{gallery.FastIndex.PersonCount} people, camera {settings.Camera.Device}"));
            await source.StartAsync(stoppingToken).ConfigureAwait(false);
            notifier.Ready($"{gallery.FastIndex.PersonCount} people enrolled; watching {settings.Camera.Device}");
            running = true;
            await Loop.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!running && Cli.KioskCli.IsConfigurationFailure(e))
        {
            // Only at start-up, before anything ran: a failure later (a device lost with no backend left) is worth a
            // restart, which plans the backends afresh. Here restarting cannot help: say what to change, leave the
            // door locked and exit with EX_CONFIG, which the unit does not restart (a crash loop only fills the journal).
            Log.CannotRunAsConfigured(_logger, e.Message);
            notifier.Status($"cannot run as configured: {e.Message}");
            Environment.ExitCode = Cli.KioskCli.ConfigurationExitCode;
            lifetime.StopApplication();
        }
        catch (Exception e)
        {
            Log.ServiceFailed(_logger, e);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
        finally
        {
            notifier.Stopping("locking the door and stopping");
            try { events?.Append(KioskEvent.Now(EventKind.ServiceStopping, "service stopping")); } catch (Exception e) { Log.ServiceFailed(_logger, e); }
            if (source is not null) await source.DisposeAsync().ConfigureAwait(false);
            if (Door is not null) await Door.DisposeAsync().ConfigureAwait(false); // locks
            if (driver is not null) await driver.DisposeAsync().ConfigureAwait(false);
            // After the door: the goodbye to the broker may take seconds and must not keep the door waiting.
            if (Mqtt is not null) await Mqtt.DisposeAsync().ConfigureAwait(false);
            gallery?.Dispose();
            liveness?.Dispose();
            events?.Dispose();
        }
    }

    /// <summary>
    /// Connects to the site's broker, if configured. Without libmosquitto the kiosk still guards the door and
    /// records every event (they go out once MQTT works): the failure is logged, not fatal.
    /// </summary>
    private MqttLink? StartMqtt(GalleryService gallery, EventStore events)
    {
        if (settings.Mqtt is not { } mqtt) return null;
        try
        {
            var link = new MqttLink(mqtt, gallery, events, Door, loggers, time) { Inference = Placements };
            link.Start();
            return link;
        }
        catch (MqttException e)
        {
            Log.MqttUnavailable(_logger, e.Message);
            return null;
        }
    }
}
