using System.Diagnostics;
using System.Threading.Channels;
using Kiosk.Host.Events;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Host.Mqtt;

/// <summary>
/// Drains the event log's outbox to MQTT: every unsent event, oldest first, as <see cref="EventPayload"/> JSON at
/// QoS 1 (not retained) on one topic, <c>kiosk/&lt;site&gt;/&lt;kiosk&gt;/events</c>. An event is marked sent only
/// after the broker's PUBACK, so nothing is lost: what was published but not acknowledged before a restart is
/// published again after it (QoS 1 may deliver twice; consumers deduplicate by <see cref="EventPayload.Id"/>).
/// </summary>
/// <remarks>
/// <para>At most <see cref="EventPublisherOptions.Window"/> events are handed to libmosquitto and not yet
/// acknowledged; new ones are handed over only while connected. During an outage the window waits in the library
/// (it resends it on reconnect) and the rest of the backlog stays in SQLite, however long the outage.</para>
/// <para>Wakes on <see cref="EventStore.Appended"/>, on each acknowledgement and on (re)connection, and reads the
/// outbox every <see cref="EventPublisherOptions.PollInterval"/> as well (events appended by another process).</para>
/// <para>The publisher owns neither the store nor the client: start the client, run <see cref="RunAsync"/>, cancel
/// it and await it before disposing either. Thread safety: the counters may be read from any thread.</para>
/// </remarks>
public sealed class EventPublisher
{
    private readonly EventStore _store;
    private readonly MqttClient _client;
    private readonly string _topic, _site, _kiosk;
    private readonly EventPublisherOptions _options;
    private readonly ILogger _logger;
    // Capacity 1, extra writes dropped: any number of wake-ups while the loop works collapse into one more pass.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Action<long> _onAppended;
    private readonly Action _onConnected;
    private readonly Action<MqttConnectionFailure> _onDisconnected;
    private int _started;
    private long _published, _pending, _lastPublished;
    private int _inFlight;

    /// <param name="topic">Where to publish, <c>kiosk/&lt;site&gt;/&lt;kiosk&gt;/events</c>; no wildcards.</param>
    /// <param name="site">The payload's <c>site</c>.</param>
    /// <param name="kiosk">The payload's <c>kiosk</c>.</param>
    /// <exception cref="SettingsException">invalid options (the message names the key)</exception>
    public EventPublisher(EventStore store, MqttClient client, string topic, string site, string kiosk,
        EventPublisherOptions options, ILogger<EventPublisher>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentException.ThrowIfNullOrWhiteSpace(site);
        ArgumentException.ThrowIfNullOrWhiteSpace(kiosk);
        if (topic.Contains('+') || topic.Contains('#'))
            throw new ArgumentException($"the events topic '{topic}' contains a wildcard; a publish needs a topic name", nameof(topic));
        options.Validate();
        _store = store;
        _client = client;
        _topic = topic;
        _site = site;
        _kiosk = kiosk;
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _onAppended = _ => Wake();
        _onConnected = Wake;
        _onDisconnected = _ => Wake();
    }

    /// <summary>Events the broker acknowledged since <see cref="RunAsync"/> began (a resent event counts again).</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>Events in the log not yet marked sent, as last read (those in flight included).</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>The highest sequence the broker acknowledged; 0 before the first.</summary>
    public long LastPublishedSequence => Interlocked.Read(ref _lastPublished);

    /// <summary>Events handed to libmosquitto whose acknowledgement the loop has not yet taken in (at most the window).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// Publishes until cancelled; then returns (no exception for the cancellation). A failed read of the event log
    /// or a publish the library refuses is logged and retried after the poll interval. Call it once.
    /// </summary>
    /// <exception cref="ObjectDisposedException">the client or the store was disposed while this ran</exception>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) throw new InvalidOperationException("EventPublisher.RunAsync was already called");
        Log.EventPublisherStarted(_logger, _topic, _options.Window, _options.PollInterval);
        var run = new Run(_options.Window);
        _store.Appended += _onAppended;
        _client.Connected += _onConnected;
        _client.Disconnected += _onDisconnected;
        try
        {
            await LoopAsync(run, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: what is in flight stays unsent in the log and is published again at the next start.
        }
        finally
        {
            _store.Appended -= _onAppended;
            _client.Connected -= _onConnected;
            _client.Disconnected -= _onDisconnected;
            // Acknowledgements that arrived since the last pass: record them, or their events go out again next time.
            try
            {
                Collect(run);
                MarkAcked(run);
                Interlocked.Exchange(ref _pending, _store.UnsentCount);
            }
            catch (Exception e) when (e is EventStoreException or ObjectDisposedException)
            {
                // Only more duplicates at the next start; the events themselves are in the log.
            }
            Log.EventPublisherStopped(_logger, Published, Pending, run.InFlight.Count);
        }
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>The state of one <see cref="RunAsync"/>, owned by its loop.</summary>
    private sealed class Run(int window)
    {
        public readonly List<(long Sequence, Task Ack)> InFlight = new(window);
        public readonly List<long> Acked = new(window);
        public long QueuedUpTo;                      // the highest sequence handed to the library in this run
        public bool Fresh = true;                    // no pass since the start or since the connection was seen down
        public bool OutageWarned;
        public Stopwatch? Backlog;                   // running while a backlog found at (re)connection is published
        public long BacklogPublishedAtStart;
        public long RetryAt;                         // Environment.TickCount64 before which a refused publish is not retried
        public readonly FailureStreak StoreFailures = new("reading or updating the event log");
        public readonly FailureStreak PublishFailures = new("publishing an event");
    }

    private async Task LoopAsync(Run run, CancellationToken ct)
    {
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                Collect(run);
                MarkAcked(run);
                if (_client.IsConnected) Publish(run);
                long pending = _store.UnsentCount;
                Interlocked.Exchange(ref _pending, pending);
                run.StoreFailures.Succeeded(_logger);
                Report(run, pending);
            }
            catch (EventStoreException e)
            {
                run.StoreFailures.Failed(_logger, e.Message, _options.PollInterval);
                await Task.Delay(_options.PollInterval, ct).ConfigureAwait(false);
                continue;
            }
            await WaitAsync(run, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Moves acknowledged events from the window to the list to mark; a failed one is read and published again.</summary>
    private void Collect(Run run)
    {
        long rewindTo = long.MaxValue;
        int kept = 0;
        var inFlight = run.InFlight;
        for (int i = 0; i < inFlight.Count; i++)
        {
            var (sequence, ack) = inFlight[i];
            if (!ack.IsCompleted)
            {
                inFlight[kept++] = inFlight[i];
                continue;
            }
            if (ack.IsCompletedSuccessfully)
            {
                run.Acked.Add(sequence);
                Interlocked.Increment(ref _published);
                if (sequence > Interlocked.Read(ref _lastPublished)) Interlocked.Exchange(ref _lastPublished, sequence);
            }
            else rewindTo = Math.Min(rewindTo, sequence - 1); // only when the client was disposed: it stays unsent
        }
        inFlight.RemoveRange(kept, inFlight.Count - kept);
        Volatile.Write(ref _inFlight, kept);
        if (rewindTo < run.QueuedUpTo) run.QueuedUpTo = rewindTo;
    }

    /// <summary>One transaction for all acknowledgements gathered (each commit is an fsync); kept for a retry when it fails.</summary>
    private void MarkAcked(Run run)
    {
        if (run.Acked.Count == 0) return;
        _store.MarkSent(run.Acked);
        run.Acked.Clear();
    }

    /// <summary>Fills the window from the outbox, in sequence order.</summary>
    private void Publish(Run run)
    {
        if (run.InFlight.Count >= _options.Window || Environment.TickCount64 < run.RetryAt) return;
        var rows = _store.Unsent(run.QueuedUpTo, _options.Window - run.InFlight.Count);
        if (run.Fresh) StartBacklog(run, rows);
        foreach (var row in rows)
        {
            Task ack;
            try
            {
                ack = _client.PublishAsync(_topic, EventPayload.From(row, _site, _kiosk).ToUtf8(), qos: 1, retain: false);
            }
            catch (MqttException e)
            {
                // Refused by the library (e.g. larger than the broker's maximum packet size): the event is never
                // skipped, so it blocks the ones after it until the cause is fixed; said once, retried at the poll interval.
                run.PublishFailures.Failed(_logger, $"event {row.Sequence}: {e.Message}", _options.PollInterval);
                run.RetryAt = Environment.TickCount64 + (long)_options.PollInterval.TotalMilliseconds;
                return;
            }
            run.PublishFailures.Succeeded(_logger);
            run.InFlight.Add((row.Sequence, ack));
            run.QueuedUpTo = row.Sequence;
            // Not given the run's token: PublishAsync would keep a registration on it per message until it is
            // cancelled. Reading Exception marks a failure observed (the client disposed before the PUBACK).
            ack.ContinueWith(static (t, self) =>
            {
                _ = t.Exception;
                ((EventPublisher)self!).Wake();
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        Volatile.Write(ref _inFlight, run.InFlight.Count);
    }

    private void StartBacklog(Run run, IReadOnlyList<StoredEvent> rows)
    {
        run.Fresh = false;
        if (run.Backlog is null && rows.Count > 0)
        {
            run.Backlog = Stopwatch.StartNew();
            run.BacklogPublishedAtStart = Published;
            Log.EventBacklogStarted(_logger, _store.UnsentCount, _topic, rows[0].Sequence);
        }
        else if (run.OutageWarned) Log.EventPublisherResumed(_logger, _store.UnsentCount); // a backlog goes on
        run.OutageWarned = false;
    }

    /// <summary>The outage warning (once per outage) and the end of a backlog.</summary>
    private void Report(Run run, long pending)
    {
        if (!_client.IsConnected)
        {
            run.Fresh = true;
            if (!run.OutageWarned && pending > 0)
            {
                run.OutageWarned = true;
                Log.EventPublisherWaiting(_logger, pending, run.InFlight.Count);
            }
        }
        else if (run.Backlog is { } backlog && pending == 0 && run.InFlight.Count == 0)
        {
            backlog.Stop();
            long published = Published - run.BacklogPublishedAtStart;
            Log.EventBacklogFinished(_logger, published, backlog.Elapsed, published / Math.Max(backlog.Elapsed.TotalSeconds, 1e-3));
            run.Backlog = null;
        }
    }

    /// <summary>Until a wake-up (append, acknowledgement, connection change) or the poll interval.</summary>
    private async Task WaitAsync(Run run, CancellationToken ct)
    {
        if (_wake.Reader.TryRead(out _)) return;
        var wait = _options.PollInterval;
        long untilRetry = run.RetryAt - Environment.TickCount64;
        if (untilRetry > 0 && untilRetry < wait.TotalMilliseconds) wait = TimeSpan.FromMilliseconds(untilRetry);
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(ct);
        poll.CancelAfter(wait);
        try
        {
            await _wake.Reader.WaitToReadAsync(poll.Token).ConfigureAwait(false);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // The poll interval passed: read the outbox anyway.
        }
    }

    /// <summary>A failure said once at Warning, its repeats at Debug, the recovery at Information.</summary>
    private sealed class FailureStreak(string what)
    {
        private int _count;

        public void Failed(ILogger logger, string reason, TimeSpan retry)
        {
            if (++_count == 1) Log.EventPublisherFailed(logger, what, reason, retry);
            else Log.EventPublisherFailedAgain(logger, what, reason, _count);
        }

        public void Succeeded(ILogger logger)
        {
            if (_count == 0) return;
            Log.EventPublisherRecovered(logger, _count);
            _count = 0;
        }
    }
}
