using System.Diagnostics;
using System.Text.Json;
using Kiosk.Host;
using Kiosk.Host.Events;
using Kiosk.Host.Mqtt;
using Kiosk.Tests.Events;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Kiosk.Tests.Mqtt;

/// <summary>
/// The outbox publisher against a real mosquitto and a real SQLite event log. The tests that stop the broker make
/// their own; the others share the class fixture.
/// </summary>
[Collection(MqttCollection.Name)]
public sealed class EventPublisherTests(MosquittoBroker broker, ITestOutputHelper output) : IClassFixture<MosquittoBroker>, IDisposable
{
    private const string Site = "test-site";
    private readonly EventDir _dir = new();
    private readonly string _kiosk = "door-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _dir.Dispose();

    private string Topic => $"kiosk/{Site}/{_kiosk}/events";

    private static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private EventPublisher Publisher(EventStore store, MqttClient client, ILogger<EventPublisher> log, int window = 32, TimeSpan? poll = null) =>
        new(store, client, Topic, Site, _kiosk, new EventPublisherOptions { Window = window, PollInterval = poll ?? TimeSpan.FromSeconds(1) }, log);

    private static async Task Eventually(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > (timeout ?? MqttTest.Timeout)) throw new TimeoutException($"not within {timeout ?? MqttTest.Timeout}: {what}");
            await Task.Delay(5);
        }
    }

    /// <summary>Id and sequence of a published event.</summary>
    private static (Guid Id, long Sequence) Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return (Guid.Parse(doc.RootElement.GetProperty("id").GetString()!), doc.RootElement.GetProperty("sequence").GetInt64());
    }

    [Fact]
    public async Task Ten_thousand_events_logged_during_an_outage_all_reach_an_independent_subscriber_across_a_broker_restart_mid_flush()
    {
        const int count = 10_000;
        // Persistent and restarted with SIGTERM, as systemd does: the broker saves the subscriber's session and the
        // messages queued for it. A SIGKILLed broker loses what it acknowledged but had not saved yet; that is the
        // broker's loss, not the kiosk's, so it is not what this test is about (the kiosk side of a SIGKILL is tested
        // below: what was never acknowledged stays unsent).
        using var durable = MosquittoBroker.Persistent();
        var publisherLog = new CapturingLogger<EventPublisher>();
        var clientLog = new CapturingLogger<MqttClient>();
        using var store = _dir.Open();

        var deliveries = new Dictionary<Guid, int>();
        var firstSeen = new List<long>(count);
        var twoThousand = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var probed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string probeTopic = Topic + "/probe";
        using var sub = new MosquittoSub(durable, NewId("integrator"), (topic, payload) =>
        {
            if (topic == probeTopic)
            {
                probed.TrySetResult();
                return;
            }
            Assert.Equal(Topic, topic);
            var (id, sequence) = Parse(payload);
            lock (deliveries)
            {
                deliveries[id] = deliveries.GetValueOrDefault(id) + 1;
                if (deliveries[id] > 1) return;
                firstSeen.Add(sequence);
                if (firstSeen.Count >= 2_000) twoThousand.TrySetResult();
                if (firstSeen.Count == count) all.TrySetResult();
            }
        }, Topic, probeTopic);
        int Distinct() { lock (deliveries) return firstSeen.Count; }

        await using var client = new MqttClient(MqttTest.Options(durable, NewId("kiosk")), clientLog);
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        // The subscriber's session exists before any event: a probe on its second topic came through.
        while (!probed.Task.IsCompleted)
        {
            await client.PublishAsync(probeTopic, "probe"u8.ToArray()).WaitAsync(MqttTest.Timeout);
            await Task.WhenAny(probed.Task, Task.Delay(200));
            Assert.True(sub.HandlerFailure is null && !sub.Diagnostics.StartsWith("mosquitto_sub exited", StringComparison.Ordinal), sub.Diagnostics);
        }

        durable.StopGracefully();
        await Eventually(() => !client.IsConnected, "the kiosk's client saw the broker go");
        var publisher = Publisher(store, client, publisherLog, window: 32, poll: TimeSpan.FromSeconds(1));
        using var stop = new CancellationTokenSource();
        Task run = publisher.RunAsync(stop.Token);
        try
        {
            var appending = Stopwatch.StartNew();
            for (int i = 0; i < count; i++) store.Append(E.Event(detail: $"outage event {i}"));
            appending.Stop();
            Assert.Equal(count, store.UnsentCount);
            Assert.Equal(0, publisher.Published);
            Assert.InRange(publisher.InFlight, 0, 32); // nothing beyond the window waits in libmosquitto's memory

            var flush = Stopwatch.StartNew();
            durable.Start();
            await twoThousand.Task.WaitAsync(TimeSpan.FromSeconds(60));
            int seenAtRestart = Distinct();
            long unsentAtRestart = store.UnsentCount;
            durable.StopGracefully();
            durable.Start();
            var restarted = flush.Elapsed;
            await all.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await Eventually(() => store.UnsentCount == 0, "every event marked sent", TimeSpan.FromSeconds(30));
            flush.Stop();
            await Eventually(() => publisherLog.Count(6022) == 1, "the backlog's end logged"); // after the last pass

            Assert.Null(sub.HandlerFailure);
            Assert.True(seenAtRestart < count && unsentAtRestart > 0,
                $"the restart came after the flush ({seenAtRestart} seen, {unsentAtRestart} unsent): it tested nothing");
            var ids = store.Query(DateTimeOffset.MinValue, DateTimeOffset.MaxValue).Select(s => s.Event.Id).ToHashSet();
            Dictionary<Guid, int> delivered;
            List<long> order;
            lock (deliveries)
            {
                delivered = new(deliveries);
                order = [.. firstSeen];
            }
            Assert.Empty(ids.Except(delivered.Keys));           // none missing
            Assert.Empty(delivered.Keys.Except(ids));           // nothing else
            // The first delivery of each event comes in sequence order, across both restarts: the broker delivers
            // its saved queue first, then what the kiosk resends and publishes after it.
            for (int i = 1; i < order.Count; i++)
                Assert.True(order[i] > order[i - 1], $"event {order[i]} first arrived after event {order[i - 1]} (position {i})");
            Assert.Equal(count, publisher.LastPublishedSequence);
            Assert.True(publisher.Published >= count);
            Assert.Equal(0, publisher.Pending);

            // Logged per outage and per backlog, never per event; never the password.
            Assert.Equal(2, publisherLog.Count(6023, LogLevel.Warning)); // the two outages with events waiting
            Assert.Equal(1, publisherLog.Count(6021, LogLevel.Information)); // one backlog ...
            Assert.Equal(1, publisherLog.Count(6024, LogLevel.Information)); // ... resumed once after the second outage
            Assert.True(publisherLog.Entries.Count < 10, publisherLog.AllText);
            Assert.DoesNotContain(MosquittoBroker.Password, publisherLog.AllText + clientLog.AllText);

            int duplicates = delivered.Values.Sum() - count;
            output.WriteLine($"appending {count} events during the outage: {appending.Elapsed.TotalSeconds:F1} s");
            output.WriteLine($"flush: {flush.Elapsed.TotalSeconds:F1} s from the broker's start to every event marked sent; " +
                             $"restarted after {restarted.TotalSeconds:F1} s with {seenAtRestart} seen, {unsentAtRestart} unsent");
            output.WriteLine($"subscriber: {count} distinct, {duplicates} duplicates ({delivered.Values.Count(v => v > 1)} events more than once); " +
                             $"publisher acknowledged {publisher.Published}");
            output.WriteLine(publisherLog.AllText);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(MqttTest.Timeout);
        }
    }

    [Fact]
    public async Task An_event_published_but_never_acknowledged_stays_unsent_and_a_new_publisher_sends_it_after_the_broker_returns()
    {
        const int count = 3_000;
        using var own = new MosquittoBroker();
        var log = new CapturingLogger<EventPublisher>();
        using var store = _dir.Open();
        for (int i = 0; i < count; i++) store.Append(E.Event());

        EventPublisher first;
        await using (var client = new MqttClient(MqttTest.Options(own, NewId("kiosk"))))
        {
            var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            client.Published += _ => acked.TrySetResult();
            client.Start();
            await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
            first = Publisher(store, client, log);
            using var stop = new CancellationTokenSource();
            Task run = first.RunAsync(stop.Token);
            await acked.Task.WaitAsync(MqttTest.Timeout); // publishing has started
            // Frozen, the broker acknowledges nothing more: the publisher fills its window and waits. Then SIGKILL:
            // those 32 were published and never acknowledged.
            own.Pause();
            // Settled: acknowledgements that arrived before the freeze counted, the window refilled, then nothing moves.
            var settle = Stopwatch.StartNew();
            var last = (InFlight: -1, Published: -1L);
            while (true)
            {
                await Task.Delay(300);
                var now = (first.InFlight, first.Published);
                if (now == last && now.InFlight == 32) break;
                Assert.True(settle.Elapsed < MqttTest.Timeout, $"the publisher did not settle with a full window: {now}");
                last = now;
            }
            own.Stop();
            await Eventually(() => !client.IsConnected, "the client saw the broker die");
            await stop.CancelAsync();
            await run.WaitAsync(MqttTest.Timeout);
        } // the client goes too, as with a restarted kiosk: what libmosquitto held is gone

        long unsent = store.UnsentCount;
        output.WriteLine($"at the kill: {first.Published} acknowledged, {first.InFlight} in flight, {unsent} unsent");
        Assert.True(unsent > 0, "everything was acknowledged before the kill: the test tested nothing");
        Assert.Equal(32, first.InFlight);
        Assert.Equal(count - unsent, first.Published); // marked sent = acknowledged, no more
        // Acknowledged in order, so what stays unsent is the tail, in sequence order.
        Assert.Equal(Enumerable.Range((int)(count - unsent) + 1, (int)unsent).Select(i => (long)i), store.Unsent(count).Select(s => s.Sequence));
        var waiting = store.Unsent(count).Select(s => s.Event.Id).ToHashSet();

        own.Start();
        await using var subscriber = new MqttClient(MqttTest.Options(own, NewId("consumer")));
        subscriber.Start();
        await subscriber.SubscribeAsync(Topic, 1).WaitAsync(MqttTest.Timeout);
        await using var again = new MqttClient(MqttTest.Options(own, NewId("kiosk")));
        again.Start();
        var second = Publisher(store, again, log);
        using var stop2 = new CancellationTokenSource();
        Task run2 = second.RunAsync(stop2.Token);
        try
        {
            var received = new HashSet<Guid>();
            while (!waiting.IsSubsetOf(received))
                received.Add(Parse(System.Text.Encoding.UTF8.GetString((await MqttTest.NextMessageAsync(subscriber)).Payload)).Id);
            await Eventually(() => store.UnsentCount == 0, "the rest marked sent");
            Assert.Equal(count, second.LastPublishedSequence);
            Assert.True(second.Published >= unsent);
        }
        finally
        {
            await stop2.CancelAsync();
            await run2.WaitAsync(MqttTest.Timeout);
        }
    }

    [Fact]
    public async Task An_event_appended_while_connected_goes_out_at_once_without_waiting_for_the_poll()
    {
        var log = new CapturingLogger<EventPublisher>();
        using var store = _dir.Open();
        await using var subscriber = new MqttClient(MqttTest.Options(broker, NewId("consumer")));
        subscriber.Start();
        await subscriber.SubscribeAsync(Topic, 1).WaitAsync(MqttTest.Timeout);
        await using var client = new MqttClient(MqttTest.Options(broker, NewId("kiosk")));
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        // A poll interval far beyond the bound asserted: only the append's wake-up can explain a prompt delivery.
        var publisher = Publisher(store, client, log, poll: TimeSpan.FromMinutes(1));
        using var stop = new CancellationTokenSource();
        Task run = publisher.RunAsync(stop.Token);
        try
        {
            var delivered = new List<double>();
            var marked = new List<double>();
            for (int i = 0; i < 20; i++)
            {
                var e = E.Event(detail: $"live {i}");
                var clock = Stopwatch.StartNew();
                long sequence = store.Append(e);
                var message = await MqttTest.NextMessageAsync(subscriber, TimeSpan.FromSeconds(5));
                delivered.Add(clock.Elapsed.TotalMilliseconds);
                Assert.Equal((e.Id, sequence), Parse(System.Text.Encoding.UTF8.GetString(message.Payload)));
                await Eventually(() => publisher.LastPublishedSequence == sequence && store.UnsentCount == 0, "marked sent", TimeSpan.FromSeconds(5));
                marked.Add(clock.Elapsed.TotalMilliseconds);
                await Task.Delay(20);
            }
            delivered.Sort();
            marked.Sort();
            output.WriteLine($"append to delivery: median {delivered[10]:F1} ms, max {delivered[^1]:F1} ms; " +
                             $"append to marked sent: median {marked[10]:F1} ms, max {marked[^1]:F1} ms");
            Assert.Equal(20, publisher.Published);
            Assert.Equal(0, log.Count(6021)); // live events are no backlog
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(MqttTest.Timeout);
        }
    }

    [Fact]
    public async Task An_event_appended_by_another_process_is_found_by_the_poll()
    {
        var log = new CapturingLogger<EventPublisher>();
        using var store = _dir.Open();
        using var cli = _dir.Open(); // a second connection to the file, as the CLI beside the service: no wake-up here
        await using var subscriber = new MqttClient(MqttTest.Options(broker, NewId("consumer")));
        subscriber.Start();
        await subscriber.SubscribeAsync(Topic, 1).WaitAsync(MqttTest.Timeout);
        await using var client = new MqttClient(MqttTest.Options(broker, NewId("kiosk")));
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        var publisher = Publisher(store, client, log, poll: TimeSpan.FromMilliseconds(300));
        using var stop = new CancellationTokenSource();
        Task run = publisher.RunAsync(stop.Token);
        try
        {
            await Task.Delay(500); // the publisher is idle, waiting
            var e = E.Event(EventKind.ExitButton, personId: null, name: null, detail: "from the CLI");
            var clock = Stopwatch.StartNew();
            cli.Append(e);
            var message = await MqttTest.NextMessageAsync(subscriber, TimeSpan.FromSeconds(5));
            output.WriteLine($"appended by another connection, delivered after {clock.ElapsedMilliseconds} ms (poll 300 ms)");
            Assert.Equal(e.Id, Parse(System.Text.Encoding.UTF8.GetString(message.Payload)).Id);
            await Eventually(() => store.UnsentCount == 0, "marked sent");
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(MqttTest.Timeout);
        }
    }

    [Fact]
    public async Task The_message_on_the_wire_is_the_documented_json_at_qos1_not_retained_with_the_snapshot()
    {
        var log = new CapturingLogger<EventPublisher>();
        using var store = _dir.Open(_dir.Options(keepSnapshots: true));
        var jpeg = E.Jpeg(5, 20_000);
        var e = E.Event(EventKind.UnknownFace, personId: null, name: null, detail: "unknown face", snapshot: jpeg);
        long sequence = store.Append(e);
        await using var subscriber = new MqttClient(MqttTest.Options(broker, NewId("consumer")));
        subscriber.Start();
        await subscriber.SubscribeAsync(Topic, 1).WaitAsync(MqttTest.Timeout);
        await using var client = new MqttClient(MqttTest.Options(broker, NewId("kiosk")));
        client.Start();
        var publisher = Publisher(store, client, log);
        using var stop = new CancellationTokenSource();
        Task run = publisher.RunAsync(stop.Token);
        try
        {
            var message = await MqttTest.NextMessageAsync(subscriber);
            Assert.Equal(Topic, message.Topic);
            Assert.Equal(1, message.Qos);
            Assert.False(message.Retain);

            using var schemaDoc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "mqtt", "event.schema.json")));
            var schema = schemaDoc.RootElement;
            using var doc = JsonDocument.Parse(message.Payload);
            var json = doc.RootElement;
            foreach (var required in schema.GetProperty("required").EnumerateArray())
                Assert.True(json.TryGetProperty(required.GetString()!, out _), $"missing {required}");
            var allowed = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
            Assert.All(json.EnumerateObject(), p => Assert.Contains(p.Name, allowed));
            Assert.Equal(EventPayload.SchemaId, json.GetProperty("schema").GetString());
            Assert.Equal(e.Id.ToString("D"), json.GetProperty("id").GetString());
            Assert.Equal(sequence, json.GetProperty("sequence").GetInt64());
            Assert.Equal(Site, json.GetProperty("site").GetString());
            Assert.Equal(_kiosk, json.GetProperty("kiosk").GetString());
            Assert.Equal("UnknownFace", json.GetProperty("kind").GetString());
            Assert.Equal(jpeg, Convert.FromBase64String(json.GetProperty("snapshot_jpeg").GetString()!));
            await Eventually(() => store.UnsentCount == 0, "marked sent");
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(MqttTest.Timeout);
        }
    }

    [Fact]
    public async Task RunAsync_returns_promptly_when_cancelled_while_the_broker_is_down_and_keeps_the_events()
    {
        using var own = new MosquittoBroker();
        var log = new CapturingLogger<EventPublisher>();
        using var store = _dir.Open();
        await using var client = new MqttClient(MqttTest.Options(own, NewId("kiosk")));
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        own.Stop();
        await Eventually(() => !client.IsConnected, "the client saw the broker die");
        var publisher = Publisher(store, client, log);
        using var stop = new CancellationTokenSource();
        Task run = publisher.RunAsync(stop.Token);
        for (int i = 0; i < 100; i++) store.Append(E.Event());
        await Eventually(() => log.Count(6023, LogLevel.Warning) == 1, "the outage reported");
        Assert.Equal(0, publisher.InFlight); // nothing handed to the library while disconnected
        var clock = Stopwatch.StartNew();
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine($"stopped {clock.ElapsedMilliseconds} ms after the cancellation");
        Assert.Equal(100, store.UnsentCount);
        Assert.Contains("100 not yet sent", Assert.Single(log.Entries, x => x.Id == 6028).Text);
        Assert.Equal(1, log.Count(6023)); // once for the outage, not per event appended during it
    }

    [Fact]
    public void Options_default_to_a_window_of_32_and_a_5_second_poll_and_name_the_key_of_a_bad_value()
    {
        static EventPublisherOptions Load(params (string, string)[] pairs) => EventPublisherOptions.Load(
            new ConfigurationBuilder()
                .AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Item1, p.Item2))).Build());
        var o = Load();
        Assert.Equal((32, TimeSpan.FromSeconds(5)), (o.Window, o.PollInterval));
        Assert.Equal(64, Load(("Mqtt:EventWindow", "64")).Window);
        Assert.Contains("Mqtt:EventWindow", Assert.Throws<SettingsException>(() => Load(("Mqtt:EventWindow", "0"))).Message);
        Assert.Contains("Mqtt:EventWindow", Assert.Throws<SettingsException>(() => Load(("Mqtt:EventWindow", "many"))).Message);
        Assert.Contains("Mqtt:EventPollInterval",
            Assert.Throws<SettingsException>(() => Load(("Mqtt:EventPollInterval", "00:00:00.01"))).Message);
    }
}
