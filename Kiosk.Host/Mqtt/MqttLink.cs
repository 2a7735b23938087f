using System.Threading.Channels;
using Kiosk.Hardware.Door;
using Kiosk.Host.Events;
using Kiosk.Host.Fleet;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt.Commands;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Kiosk.Host.Mqtt;

/// <summary>
/// The kiosk's MQTT settings: the broker connection (section <c>Mqtt</c>) and the kiosk's place in the site
/// (<c>Mqtt:Site</c>, <c>Mqtt:Kiosk</c>). MQTT is off when <c>Mqtt:Host</c> is empty.
/// </summary>
public sealed record MqttLinkSettings(MqttOptions Broker, KioskTopics Topics)
{
    /// <summary>How often the retained status is refreshed when something in it changed (people, revision, backlog).</summary>
    public TimeSpan StatusRefresh { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The events outbox publisher's settings (Mqtt:EventWindow, Mqtt:EventPollInterval).</summary>
    public EventPublisherOptions Events { get; init; } = new();

    /// <summary>Commands in: signatures, limits, open-door (Mqtt:CommandKeyFile, Mqtt:RequireSignedCommands, ...).</summary>
    public CommandOptions Commands { get; init; } = new();

    /// <summary>The fleet gallery (section Fleet): off unless Fleet:Enabled, with the site key.</summary>
    public FleetOptions Fleet { get; init; } = new();

    /// <summary>Null when MQTT is not configured (no Mqtt:Host); otherwise validated settings.</summary>
    /// <exception cref="SettingsException">a value is invalid (the message names the key)</exception>
    public static MqttLinkSettings? Load(IConfiguration config)
    {
        if (config[$"{MqttOptions.Section}:Host"] is not { Length: > 0 }) return null;
        var topics = new KioskTopics(config[$"{MqttOptions.Section}:Site"] ?? "",
            config[$"{MqttOptions.Section}:Kiosk"] is { Length: > 0 } k ? k : DefaultKioskName());
        var broker = MqttOptions.Load(config, defaultClientId: $"kiosk-{topics.Site}-{topics.Kiosk}");
        if (broker.WillTopic is not null)
            throw new SettingsException($"{MqttOptions.Section}:WillTopic is set; the kiosk's last will is its own status topic ({topics.Status}): remove the key");
        var refresh = KioskSettings.Get(config, $"{MqttOptions.Section}:StatusRefresh", TimeSpan.FromSeconds(10));
        if (refresh < TimeSpan.FromSeconds(1)) throw new SettingsException($"{MqttOptions.Section}:StatusRefresh must be at least 00:00:01");
        return new MqttLinkSettings(broker, topics) { StatusRefresh = refresh, Events = EventPublisherOptions.Load(config), Commands = CommandOptions.Load(config), Fleet = FleetOptions.Load(config) };
    }

    /// <summary>The host name, made a valid topic level: a kiosk needs no configuration to have a name.</summary>
    public static string DefaultKioskName()
    {
        string name = new(Environment.MachineName.Select(c => c is '/' or '+' or '#' || char.IsControl(c) || char.IsWhiteSpace(c) ? '-' : c).ToArray());
        return name.Length is > 0 and <= KioskTopics.MaxNameLength ? name : "kiosk";
    }
}

/// <summary>
/// The kiosk on the site's broker: one <see cref="MqttClient"/> whose last will is the retained <c>offline</c>
/// status, the retained <c>online</c> status published on every connection and refreshed when it changes, and the
/// parts that use the connection (events out, commands in, the fleet gallery) run beside it. The camera loop never
/// waits for any of it: a broker that is down costs nothing but a backlog in SQLite.
/// </summary>
public sealed class MqttLink : IAsyncDisposable
{
    private readonly MqttLinkSettings _settings;
    private readonly GalleryService _gallery;
    private readonly EventStore _events;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connected = new(0);
    private readonly List<Func<CancellationToken, Task>> _parts = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _running = Task.CompletedTask;
    private StatusPayload? _lastStatus;
    private DateTimeOffset _onlineSince;
    private bool _started, _disposed;

    public MqttClient Client { get; }
    /// <summary>Hands the event log's unsent events to the broker (always part of the link).</summary>
    public EventPublisher Publisher { get; }
    /// <summary>Takes the kiosk's commands (enroll, update, delete, open-door, get-person) and replies.</summary>
    public CommandListener Commands { get; }
    /// <summary>The fleet gallery sync, when Fleet:Enabled.</summary>
    public SiteGallerySync? Fleet { get; }
    private readonly SiteKey? _siteKey;
    private readonly Channel<MqttMessage> _commandMessages = Channel.CreateBounded<MqttMessage>(
        new BoundedChannelOptions(64) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
    public KioskTopics Topics => _settings.Topics;
    /// <summary>Where the models run (and any fallback), for the status; null: not reported.</summary>
    public Kiosk.Vision.Inference.InferenceReport? Inference { get; init; }
    /// <summary>Retained status messages the broker acknowledged.</summary>
    public int StatusPublished { get; private set; }

    /// <exception cref="MqttException">libmosquitto is missing or refused an option</exception>
    /// <param name="door">the door open-door commands pulse (Mqtt:AllowOpenDoor); null: they are refused</param>
    public MqttLink(MqttLinkSettings settings, GalleryService gallery, EventStore events, DoorController? door, ILoggerFactory loggers,
        TimeProvider? time = null)
    {
        _settings = settings;
        _gallery = gallery;
        _events = events;
        _time = time ?? TimeProvider.System;
        _logger = loggers.CreateLogger<MqttLink>();
        var t = settings.Topics;
        Client = new MqttClient(settings.Broker.WithWill(t.Status, System.Text.Encoding.UTF8.GetString(StatusPayload.Offline(t).ToUtf8()), 1, true),
            loggers.CreateLogger<MqttClient>());
        Client.Connected += () => _connected.Release();
        Publisher = new EventPublisher(events, Client, t.Events, t.Site, t.Kiosk, settings.Events, loggers.CreateLogger<EventPublisher>());
        _parts.Add(Publisher.RunAsync);
        Commands = new CommandListener(Client, settings.Topics, gallery, door, events, settings.Commands,
            loggers.CreateLogger<CommandListener>(), _time);
        _parts.Add(ct => Commands.RunAsync(_commandMessages.Reader, ct));
        if (settings.Fleet.Enabled)
        {
            _siteKey = SiteKey.Load(settings.Fleet.SiteKeyFile);
            Fleet = new SiteGallerySync(Client, settings.Topics, gallery, _siteKey, settings.Fleet, loggers.CreateLogger<SiteGallerySync>());
            // Every local change (a command, the CLI in this process) goes out at once rather than at the next poll.
            gallery.Store.Changed += Fleet.NotifyLocalChange;
            _parts.Add(Fleet.RunAsync);
        }
        _parts.Add(RouteAsync);
    }

    /// <summary>
    /// One client, one stream of messages: each goes to the part that subscribed to its topic. A flood on one topic
    /// (at most 64 waiting, the oldest dropped) cannot hold up another.
    /// </summary>
    private async Task RouteAsync(CancellationToken ct)
    {
        await foreach (var m in Client.Messages.ReadAllAsync(ct).ConfigureAwait(false))
        {
            if (m.Topic == Topics.Commands) _commandMessages.Writer.TryWrite(m);
            else Fleet?.Offer(m);
        }
    }

    /// <summary>Adds a part that runs while the link does (until it is disposed); before <see cref="Start"/>.</summary>
    public void Run(Func<CancellationToken, Task> part)
    {
        if (_started) throw new InvalidOperationException("parts are added before the link starts");
        _parts.Add(part);
    }

    /// <summary>Starts connecting (a broker that is down is retried with backoff) and the parts; returns at once.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_started) return;
        _started = true;
        Client.Start();
        var ct = _stop.Token;
        _running = Task.WhenAll(_parts.Select(p => Task.Run(() => Guard(p, ct), CancellationToken.None)).Append(Task.Run(() => Guard(PresenceAsync, ct), CancellationToken.None)));
    }

    private async Task Guard(Func<CancellationToken, Task> part, CancellationToken ct)
    {
        try
        {
            await part(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // A part that fails must not take the door down with it; it is logged for the operator.
            MqttLinkLog.PartFailed(_logger, e);
        }
    }

    private async Task PresenceAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            bool reconnected = await _connected.WaitAsync(_settings.StatusRefresh, ct).ConfigureAwait(false);
            if (reconnected)
            {
                while (_connected.CurrentCount > 0) _connected.Wait(0, CancellationToken.None); // one status per burst
                _onlineSince = _time.GetUtcNow();
                _lastStatus = null;
            }
            if (!Client.IsConnected) continue;
            var status = Online();
            // Refreshed only when what it says changed (its timestamp aside): retained writes are not free for the broker.
            if (_lastStatus is { } last && last with { UpdatedUtc = null } == status with { UpdatedUtc = null }) continue;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                await Client.PublishAsync(Topics.Status, status.ToUtf8(), 1, retain: true, timeout.Token).ConfigureAwait(false);
                _lastStatus = status;
                StatusPublished++;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // Not acknowledged in time (the connection dropped): the next connection publishes it again.
            }
            catch (MqttException e)
            {
                MqttLinkLog.StatusFailed(_logger, e.Message);
            }
        }
    }

    /// <summary>The online status as it stands.</summary>
    public StatusPayload Online()
    {
        var s = _gallery.Settings;
        return new StatusPayload(StatusPayload.SchemaId, "online", Topics.Site, Topics.Kiosk, StatusPayload.ProgramVersion,
            new StatusModels($"{s.Fast.Name} {GalleryService.ModelKey(s.Fast)}", s.Accurate is { } a ? $"{a.Name} {GalleryService.ModelKey(a)}" : null),
            _gallery.Store.Revision, _gallery.FastIndex.PersonCount, _events.UnsentCount, StatusPayload.Utc(_onlineSince),
            StatusPayload.Utc(_time.GetUtcNow()), Inference is { } i && i.Placements.Count > 0 ? i.Summary() : null);
    }

    /// <summary>
    /// Stops the parts, says <c>offline</c> (retained; the broker sends no will after a clean disconnect, so the
    /// kiosk says it itself), disconnects.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        if (Client.IsConnected)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                await Client.PublishAsync(Topics.Status, StatusPayload.Offline(Topics).ToUtf8(), 1, retain: true, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or MqttException)
            {
                MqttLinkLog.StatusFailed(_logger, "offline status not acknowledged before disconnecting");
            }
        }
        await Client.DisposeAsync().ConfigureAwait(false);
        Commands.Dispose();
        if (Fleet is not null) _gallery.Store.Changed -= Fleet.NotifyLocalChange;
        _siteKey?.Dispose();
        _stop.Dispose();
        _connected.Dispose();
    }
}

internal static partial class MqttLinkLog
{
    [LoggerMessage(EventId = 6010, Level = LogLevel.Error, Message = "MQTT: a part of the link failed and stopped; the kiosk goes on without it")]
    public static partial void PartFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "MQTT: the kiosk's status could not be published: {Reason}")]
    public static partial void StatusFailed(ILogger logger, string reason);
}
