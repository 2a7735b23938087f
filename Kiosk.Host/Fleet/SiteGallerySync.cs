using System.Collections.Concurrent;
using System.Threading.Channels;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Host.Fleet;

/// <summary>What the fleet gallery sync has done since it started, for the kiosk's status.</summary>
/// <param name="Subscribed">The broker acknowledged the gallery subscription (retained records arrive after it).</param>
/// <param name="Received">Gallery messages handled, whatever became of them (retained ones arrive again after every reconnect).</param>
/// <param name="Applied">Site records that changed this gallery.</param>
/// <param name="Refused">Messages refused: not decrypting, wrong schema, wrong topic, bad content, too large.</param>
/// <param name="Conflicts">Records that cannot be applied here (an ExternalId held by another person); retried.</param>
/// <param name="Stale">Records older than this gallery's state; this kiosk's state was published again.</param>
/// <param name="Published">Local changes the broker acknowledged.</param>
/// <param name="KeyFingerprint">The site key's fingerprint: the same on every kiosk of a site.</param>
public sealed record SiteGalleryStatus(bool Subscribed, long Received, long Applied, long Refused, long Conflicts, long Stale, long Published,
    DateTimeOffset? LastAppliedUtc, DateTimeOffset? LastPublishedUtc, string KeyFingerprint);

/// <summary>
/// Keeps this kiosk's gallery and its site's gallery the same, through retained MQTT messages, one per person, at
/// <c>kiosk/&lt;site&gt;/gallery/&lt;uid&gt;</c> (docs/mqtt/gallery.md).
/// <list type="bullet">
/// <item>In: subscribes to the site's gallery; every record (the retained ones arrive on subscribing, and again after
///   each reconnect) is opened with the site key and applied by <see cref="GalleryStore.ApplySiteRecord"/> on this
///   object's own task, with <see cref="GalleryService.SyncRoot"/> held; then the service's indexes are refreshed
///   once per batch.</item>
/// <item>Out: whenever connected, publishes the local changes the site has not seen (retained, QoS 1) and marks each
///   published on the broker's PUBACK. It looks when <see cref="NotifyLocalChange"/> is called, when the connection
///   comes back, and every <see cref="FleetOptions.PollInterval"/> (changes by the CLI in another process).</item>
/// <item>Repair: a record older than the local state means the broker holds a stale copy, so the local one is
///   published again; and once the retained burst after a connection has settled, whatever this gallery holds that
///   the broker did not send is published again (the broker lost it).</item>
/// </list>
/// <para>Messages reach it through <see cref="Offer"/>: whoever reads <see cref="MqttClient.Messages"/> (the client has
/// one channel for all subscriptions) hands it every message, and it takes those of the gallery's topics.</para>
/// <para>Thread safety: <see cref="Offer"/>, <see cref="NotifyLocalChange"/> and <see cref="Status"/> may be called
/// from any thread; <see cref="RunAsync"/> once.</para>
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SiteGallerySync
{
    /// <summary>Publications awaiting PUBACK at once (libmosquitto queues beyond its own in-flight window).</summary>
    private const int MaxInFlight = 32;
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(30);
    /// <summary>During a long burst (a fresh kiosk receiving the whole site) the indexes are refreshed this often.</summary>
    private static readonly TimeSpan MaxBatchTime = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RefusalWarningInterval = TimeSpan.FromMinutes(1);
    /// <summary>After a (re)connection, the retained burst counts as over when nothing arrived for this long (plus a
    /// random part, so that of several kiosks one republishes what the broker lost and the others see it arrive).</summary>
    private static readonly TimeSpan RetainedSettle = TimeSpan.FromSeconds(3);

    private readonly MqttClient _client;
    private readonly KioskTopics _topics;
    private readonly GalleryStore _store;
    private readonly Lock _syncRoot;
    private readonly Func<bool> _refresh;
    private readonly SiteGalleryCodec _codec;
    private readonly FleetOptions _options;
    private readonly string _fingerprint;
    private readonly ILogger _log;
    private readonly Channel<MqttMessage> _incoming = Channel.CreateUnbounded<MqttMessage>(); // not SingleReader: that one cannot Count
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, long> _inFlight = new(StringComparer.Ordinal);
    // Apply loop only: records to try again (a conflict, a failed transaction), the latest per topic.
    private readonly Dictionary<string, MqttMessage> _deferred = new(StringComparer.Ordinal);
    // Publish loop only: too-large records already reported.
    private readonly HashSet<(string, long)> _tooLarge = [];
    private long _received, _applied, _refused, _conflicts, _stale, _published, _lastAppliedMs = -1, _lastPublishedMs = -1;
    private long? _lastRefusalWarning;
    private long _suppressedRefusals;
    // A new epoch starts with every connection: the broker sends its retained records again.
    private int _epoch;
    private long _epochStartedMs;
    // Apply loop only: which uids arrived (valid) in the current epoch, and whether its sweep was done.
    private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
    private int _seenEpoch, _sweptEpoch;
    private long _lastHandledMs, _settleJitterMs;
    private volatile bool _subscribed;
    private int _running;

    /// <param name="gallery">the gallery to keep in step; its <see cref="GalleryService.SyncRoot"/> is held for each change</param>
    /// <param name="siteKey">the site's key; owned by the caller, who disposes it after <see cref="RunAsync"/> ended</param>
    /// <exception cref="SettingsException">invalid options (the message names the key)</exception>
    public SiteGallerySync(MqttClient client, KioskTopics topics, GalleryService gallery, SiteKey siteKey, FleetOptions options,
        ILogger<SiteGallerySync>? logger = null)
        : this(client, topics, (gallery ?? throw new ArgumentNullException(nameof(gallery))).Store, gallery.SyncRoot, gallery.RefreshIfChanged,
            siteKey, options, logger)
    {
    }

    /// <summary>Over a bare store, for tests that need no models: <paramref name="refresh"/> stands for the indexes' reload.</summary>
    internal SiteGallerySync(MqttClient client, KioskTopics topics, GalleryStore store, Lock syncRoot, Func<bool> refresh, SiteKey siteKey,
        FleetOptions options, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(store);
        if (syncRoot is null) throw new ArgumentNullException(nameof(syncRoot));
        ArgumentNullException.ThrowIfNull(refresh);
        ArgumentNullException.ThrowIfNull(siteKey);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _topics = topics;
        _store = store;
        _syncRoot = syncRoot;
        _refresh = refresh;
        _options = options;
        _fingerprint = siteKey.Fingerprint;
        _codec = new SiteGalleryCodec(siteKey, topics, options.MaxPayloadBytes);
        _log = logger ?? NullLogger.Instance;
    }

    public SiteGalleryStatus Status => new(_subscribed, Interlocked.Read(ref _received), Interlocked.Read(ref _applied), Interlocked.Read(ref _refused),
        Interlocked.Read(ref _conflicts), Interlocked.Read(ref _stale), Interlocked.Read(ref _published),
        Time(Interlocked.Read(ref _lastAppliedMs)), Time(Interlocked.Read(ref _lastPublishedMs)), _fingerprint);

    /// <summary>
    /// Takes a message if it is on one of the site's gallery topics (true), to be handled on the sync's own task;
    /// false for any other topic. Never blocks; call it from whatever reads <see cref="MqttClient.Messages"/>.
    /// </summary>
    public bool Offer(MqttMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!_codec.IsGalleryTopic(message.Topic)) return false;
        // Unbounded: the broker's retained set bounds a burst, and dropping a record would leave the gallery behind
        // until the next reconnect.
        _incoming.Writer.TryWrite(message);
        return true;
    }

    /// <summary>The gallery changed here (enroll, update, delete): publish soon rather than at the next poll. Cheap; any thread.</summary>
    public void NotifyLocalChange() => _wake.Writer.TryWrite(true);

    /// <summary>
    /// Subscribes, then applies incoming records and publishes local changes until cancelled (then it returns).
    /// A broker down at the start or later is waited for: the client reconnects and subscribes again.
    /// </summary>
    /// <exception cref="MqttException">the broker refused the subscription (its ACL); logged as an error first</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _running, 1) == 1) throw new InvalidOperationException("SiteGallerySync.RunAsync was already called");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = stop.Token;
        Log.FleetStarted(_log, _topics.GalleryFilter, _topics.Kiosk, _fingerprint, _options.PollInterval);
        _client.Connected += OnConnected;
        var apply = Task.Run(() => ApplyLoopAsync(ct), CancellationToken.None);
        var publish = Task.Run(() => SubscribeAndPublishAsync(ct), CancellationToken.None);
        try
        {
            await Task.WhenAny(apply, publish).ConfigureAwait(false);
            stop.Cancel(); // one loop ended (cancelled, or failed): the other too
            await Task.WhenAll(apply, publish).ConfigureAwait(false);
        }
        finally
        {
            _client.Connected -= OnConnected;
            _subscribed = false;
            _incoming.Writer.TryComplete();
        }
    }

    /// <summary>On the network thread: changes made while offline go out now, and the retained records that follow are counted.</summary>
    private void OnConnected()
    {
        NewEpoch();
        NotifyLocalChange();
    }

    private void NewEpoch()
    {
        Interlocked.Exchange(ref _epochStartedMs, Environment.TickCount64);
        Interlocked.Increment(ref _epoch);
    }

    // ---------------------------------------------------------------- in

    private async Task ApplyLoopAsync(CancellationToken ct)
    {
        var reader = _incoming.Reader;
        try
        {
            while (true)
            {
                bool arrived = await WaitAsync(reader, ct).ConfigureAwait(false);
                int applied = 0;
                long started = Environment.TickCount64;
                while (reader.TryRead(out var message))
                {
                    if (Handle(message, retry: false)) applied++;
                    Interlocked.Increment(ref _received);
                    if (Environment.TickCount64 - started > MaxBatchTime.TotalMilliseconds) break;
                }
                if (!arrived && _deferred.Count > 0)
                {
                    foreach (var message in _deferred.Values.ToList())
                        if (Handle(message, retry: true)) applied++;
                }
                if (applied > 0)
                {
                    // Once per batch: a reload costs a pass over every template, a record costs one transaction.
                    lock (_syncRoot) _refresh();
                    Log.FleetAppliedBatch(_log, applied, Interlocked.Read(ref _applied));
                }
                SweepIfSettled();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    /// <summary>True when a message is waiting, false when the poll interval passed first.</summary>
    private async Task<bool> WaitAsync(ChannelReader<MqttMessage> reader, CancellationToken ct)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        poll.CancelAfter(_options.PollInterval);
        try
        {
            if (await reader.WaitToReadAsync(poll.Token).ConfigureAwait(false)) return true;
            throw new OperationCanceledException("the sync has stopped", ct); // completed: only after RunAsync ended
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && poll.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// Once the retained records of a new connection have arrived: whatever this gallery holds that the broker did
    /// not send is published again. The broker lost it (restarted without persistence, replaced, a topic cleared), and
    /// a kiosk starting later would otherwise never learn it.
    /// </summary>
    private void SweepIfSettled()
    {
        int epoch = Volatile.Read(ref _epoch);
        if (epoch == _sweptEpoch || !_subscribed || !_client.IsConnected || _incoming.Reader.Count > 0) return;
        if (_seenEpoch != epoch) StartSeen(epoch);
        long quietSince = Math.Max(Interlocked.Read(ref _epochStartedMs), _lastHandledMs);
        if (Environment.TickCount64 - quietSince < RetainedSettle.TotalMilliseconds + _settleJitterMs) return;
        try
        {
            var missing = _store.SiteUids().Where(u => !_seen.Contains(u)).ToList();
            int marked = _store.RepublishSiteRecords(missing);
            if (marked > 0)
            {
                Log.FleetRepublishing(_log, marked);
                NotifyLocalChange();
            }
            _sweptEpoch = epoch;
        }
        catch (GalleryException e)
        {
            Log.FleetPendingFailed(_log, e.Message); // tried again at the next poll
        }
    }

    private void StartSeen(int epoch)
    {
        _seen.Clear();
        _seenEpoch = epoch;
        _settleJitterMs = Random.Shared.Next(0, (int)RetainedSettle.TotalMilliseconds);
    }

    /// <summary>Opens and applies one message; true when the gallery changed.</summary>
    private bool Handle(MqttMessage message, bool retry)
    {
        string topic = message.Topic;
        if (!retry) _lastHandledMs = Environment.TickCount64;
        if (message.Payload.Length == 0)
        {
            // Someone cleared the retained message: that says nothing about the person.
            Log.FleetCleared(_log, topic);
            return false;
        }
        var opened = _codec.Open(topic, message.Payload);
        if (opened.Record is not { } record)
        {
            Refuse(topic, opened.Refusal, opened.Detail);
            return false;
        }
        string origin = opened.Origin!;
        int epoch = Volatile.Read(ref _epoch);
        if (_seenEpoch != epoch) StartSeen(epoch);
        _seen.Add(record.Uid);
        SiteApplyResult result;
        try
        {
            lock (_syncRoot) result = _store.ApplySiteRecord(record);
        }
        catch (ArgumentException e)
        {
            Refuse(topic, SiteMessageRefusal.BadRecord, e.Message);
            return false;
        }
        catch (GalleryException e)
        {
            if (!retry) Log.FleetApplyFailed(_log, topic, e.Message);
            _deferred[topic] = message;
            return false;
        }

        switch (result.Outcome)
        {
            case SiteApplyOutcome.Applied:
                _deferred.Remove(topic);
                Interlocked.Increment(ref _applied);
                Interlocked.Exchange(ref _lastAppliedMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                Log.FleetRecordApplied(_log, result.Detail, origin);
                return true;
            case SiteApplyOutcome.Stale:
                _deferred.Remove(topic);
                Interlocked.Increment(ref _stale);
                Log.FleetStale(_log, result.Detail, origin);
                NotifyLocalChange();
                return false;
            case SiteApplyOutcome.Conflict:
                // Reported once per record; retried at each poll, since deleting or changing the other person resolves it.
                if (!retry && !(_deferred.TryGetValue(topic, out var earlier) && earlier.Payload.AsSpan().SequenceEqual(message.Payload)))
                {
                    Interlocked.Increment(ref _conflicts);
                    Log.FleetConflict(_log, result.Detail, origin);
                }
                _deferred[topic] = message;
                return false;
            default:
                _deferred.Remove(topic);
                return false;
        }
    }

    /// <summary>Counts and logs a refusal: a Warning at most once a minute, the others at Debug (a flood must not fill the journal).</summary>
    private void Refuse(string topic, SiteMessageRefusal reason, string detail)
    {
        long now = Environment.TickCount64;
        if (_lastRefusalWarning is { } last && now - last < RefusalWarningInterval.TotalMilliseconds)
        {
            _suppressedRefusals++;
            Log.FleetRefusedRepeated(_log, topic, reason, detail);
        }
        else
        {
            Log.FleetRefused(_log, topic, reason, detail, _suppressedRefusals);
            _suppressedRefusals = 0;
            _lastRefusalWarning = now;
        }
        // Counted after it is logged: whoever sees the count (status, tests) finds the log line already written.
        Interlocked.Increment(ref _refused);
    }

    // ---------------------------------------------------------------- out

    private async Task SubscribeAndPublishAsync(CancellationToken ct)
    {
        try
        {
            try
            {
                // Completes on the SUBACK, which may be after a wait for the broker; the retained records follow it.
                // QoS 0 on purpose: the state is the retained set, sent again whole after every reconnect, so a record
                // lost with a connection arrives again with the next one; and at QoS 1 mosquitto 2.0 drops every retained
                // record beyond max_queued_messages + max_inflight_messages (1,020 by default) of the burst a new
                // subscriber gets. (At QoS 0 it drops too, later and depending on how fast the kiosk reads: sites
                // beyond ~1,000 people need max_queued_messages raised; see docs/mqtt/gallery.md.)
                await _client.SubscribeAsync(_topics.GalleryFilter, qos: 0, ct).ConfigureAwait(false);
            }
            catch (MqttException e)
            {
                Log.FleetSubscribeFailed(_log, _topics.GalleryFilter, e.Message);
                throw;
            }
            _subscribed = true;
            NewEpoch(); // the retained records follow the SUBACK
            while (true)
            {
                bool more = _client.IsConnected && await PublishPendingAsync(ct).ConfigureAwait(false);
                if (!more) await WaitForWakeAsync(ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopped.
        }
    }

    private async Task WaitForWakeAsync(CancellationToken ct)
    {
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        poll.CancelAfter(_options.PollInterval);
        try
        {
            await _wake.Reader.ReadAsync(poll.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The poll interval passed.
        }
    }

    /// <summary>Publishes one batch of local changes; true when all went out and there may be more.</summary>
    private async Task<bool> PublishPendingAsync(CancellationToken ct)
    {
        IReadOnlyList<SiteRecord> pending;
        try
        {
            pending = _store.PendingSitePublications(2 * MaxInFlight);
        }
        catch (GalleryException e)
        {
            Log.FleetPendingFailed(_log, e.Message);
            return false;
        }
        var batch = pending.Where(r => !(_inFlight.TryGetValue(r.Uid, out long revision) && revision == r.Revision)).Take(MaxInFlight).ToList();
        if (batch.Count == 0) return false;
        var publications = batch.ConvertAll(r => PublishAsync(r, ct));
        bool[] done;
        try
        {
            done = await Task.WhenAll(publications).WaitAsync(PublishTimeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The connection went while they were in flight: libmosquitto sends them again on reconnect, and each
            // is marked published on its PUBACK even though nobody waits here any more.
            Log.FleetPublishWaiting(_log, publications.Count(p => !p.IsCompleted), PublishTimeout);
            return false;
        }
        int published = done.Count(ok => ok);
        if (published > 0) Log.FleetPublishedBatch(_log, published, Interlocked.Read(ref _published));
        return published == batch.Count && pending.Count > batch.Count;
    }

    /// <summary>Publishes one record retained at QoS 1 and marks it published on PUBACK; false when it did not go out.</summary>
    private async Task<bool> PublishAsync(SiteRecord record, CancellationToken ct)
    {
        byte[] payload = _codec.Seal(record);
        if (payload.Length > _options.MaxPayloadBytes)
        {
            if (_tooLarge.Add((record.Uid, record.Revision)))
                Log.FleetTooLargeToPublish(_log, record.Uid, record.Revision, payload.Length, _options.MaxPayloadBytes);
            return false;
        }
        string topic = _codec.Topic(record.Uid);
        _inFlight[record.Uid] = record.Revision;
        try
        {
            await _client.PublishAsync(topic, payload, qos: 1, retain: true, ct).ConfigureAwait(false);
        }
        catch (MqttException e)
        {
            Log.FleetPublishFailed(_log, topic, e.Message);
            return false;
        }
        finally
        {
            _inFlight.TryRemove(new KeyValuePair<string, long>(record.Uid, record.Revision));
        }
        try
        {
            // False when the person changed meanwhile: that newer state is still pending and goes out next.
            _store.MarkSitePublished(record.Uid, record.Revision);
        }
        catch (GalleryException e)
        {
            Log.FleetPendingFailed(_log, e.Message);
            return false;
        }
        Interlocked.Increment(ref _published);
        Interlocked.Exchange(ref _lastPublishedMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Log.FleetPublished(_log, record.Uid, record.Revision, record.Deleted ? " (deleted)" : "", payload.Length);
        return true;
    }

    private static DateTimeOffset? Time(long unixMs) => unixMs < 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
}
