using Kiosk.Host;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Tests.Faces;
using Kiosk.Vision.Faces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Tests.Mqtt;

/// <summary>The kiosk's presence on a real broker: retained online status, refreshed on change, offline as will and goodbye.</summary>
[Collection(MqttCollection.Name)]
public sealed class MqttLinkTests : IDisposable
{
    private readonly MosquittoBroker _broker = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-link-").FullName;
    private readonly GalleryService _gallery;
    private readonly EventStore _events;

    public MqttLinkTests()
    {
        _gallery = new GalleryService(GalleryStore.Open(new GalleryOptions
        {
            DatabasePath = Path.Combine(_dir, "gallery.db"), KeyPath = Path.Combine(_dir, "gallery.key"),
        }), false, new FacePipelineOptions(), new IdentificationSettings());
        _events = EventStore.Open(new EventStoreOptions { DatabasePath = Path.Combine(_dir, "events.db") });
    }

    public void Dispose()
    {
        _gallery.Dispose();
        _events.Dispose();
        _broker.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private MqttLinkSettings Settings(int? port = null) => MqttLinkSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Mqtt:Host"] = MosquittoBroker.Host,
        ["Mqtt:Port"] = (port ?? _broker.Port).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mqtt:Username"] = MosquittoBroker.Username,
        ["Mqtt:Password"] = MosquittoBroker.Password,
        ["Mqtt:Site"] = "hq",
        ["Mqtt:Kiosk"] = "front-door-" + Guid.NewGuid().ToString("N")[..8],
        ["Mqtt:KeepAlive"] = "00:00:05",
        ["Mqtt:ReconnectMax"] = "00:00:02",
        ["Mqtt:StatusRefresh"] = "00:00:01",
    }).Build())!;

    private static async Task<StatusPayload> NextStatusAsync(MqttClient watcher, string topic, Func<StatusPayload, bool> until)
    {
        while (true)
        {
            var m = await MqttTest.NextMessageAsync(watcher);
            if (m.Topic != topic) continue;
            var s = StatusPayload.Parse(m.Payload)!;
            if (until(s)) return s;
        }
    }

    [Fact]
    public async Task The_retained_status_says_online_with_its_details_follows_changes_and_says_offline_on_a_clean_stop()
    {
        var settings = Settings();
        var link = new MqttLink(settings, _gallery, _events, null, NullLoggerFactory.Instance);
        link.Start();
        await link.Client.WaitConnectedAsync(new CancellationTokenSource(MqttTest.Timeout).Token);

        // A watcher that comes later still gets it: retained.
        await using var watcher = new MqttClient(MqttTest.Options(_broker, "watcher-" + Guid.NewGuid().ToString("N")));
        watcher.Start();
        await watcher.SubscribeAsync(settings.Topics.Status);
        var online = await NextStatusAsync(watcher, settings.Topics.Status, s => s.State == "online");
        Assert.Equal(StatusPayload.SchemaId, online.Schema);
        Assert.Equal(("hq", settings.Topics.Kiosk), (online.Site, online.Kiosk));
        Assert.Equal(StatusPayload.ProgramVersion, online.Version);
        Assert.StartsWith(_gallery.Settings.Fast.Name + " ", online.Models!.Fast);
        Assert.Equal(0, online.People);
        Assert.Equal(_gallery.Store.Revision, online.GalleryRevision);
        Assert.True(DateTimeOffset.Parse(online.OnlineSinceUtc!, System.Globalization.CultureInfo.InvariantCulture) <= DateTimeOffset.UtcNow);

        // Someone enrolled: the status follows within its refresh period.
        lock (_gallery.SyncRoot)
            Assert.NotNull(_gallery.Enroll(new PersonDraft("Angelina"), [new EnrollmentPhoto("img1.jpg", PipelineFixture.Load("img1.jpg"))]).Person);
        var after = await NextStatusAsync(watcher, settings.Topics.Status, s => s.People == 1);
        Assert.Equal(_gallery.Store.Revision, after.GalleryRevision);

        await link.DisposeAsync();
        var offline = await NextStatusAsync(watcher, settings.Topics.Status, _ => true);
        Assert.Equal("offline", offline.State);
        Assert.Null(offline.Version);
    }

    [Fact]
    public async Task A_kiosk_that_vanishes_is_reported_offline_by_its_will_and_online_again_when_it_is_back()
    {
        await using var relay = new TcpRelay(_broker.Port);
        var settings = Settings(relay.Port);
        await using var link = new MqttLink(settings, _gallery, _events, null, NullLoggerFactory.Instance);
        link.Start();
        await using var watcher = new MqttClient(MqttTest.Options(_broker, "watcher-" + Guid.NewGuid().ToString("N")));
        watcher.Start();
        await watcher.SubscribeAsync(settings.Topics.Status);
        await NextStatusAsync(watcher, settings.Topics.Status, s => s.State == "online");

        relay.DropAll(); // the broker sees the connection end without DISCONNECT, as when the kiosk loses power
        // (An online refresh already under way may come first; the will must follow.)
        var will = await NextStatusAsync(watcher, settings.Topics.Status, s => s.State == "offline");
        Assert.Equal(settings.Topics.Kiosk, will.Kiosk);

        var back = await NextStatusAsync(watcher, settings.Topics.Status, s => s.State == "online");
        Assert.Equal(0, back.People);
    }

    [Fact]
    public async Task Events_recorded_while_the_link_runs_go_out_on_the_kiosks_events_topic()
    {
        var settings = Settings();
        await using var watcher = new MqttClient(MqttTest.Options(_broker, "watcher-" + Guid.NewGuid().ToString("N")));
        watcher.Start();
        await watcher.SubscribeAsync(settings.Topics.Events);
        var before = KioskEvent.Now(EventKind.ServiceStarted, "recorded before the link started");
        _events.Append(before);
        await using (var link = new MqttLink(settings, _gallery, _events, null, NullLoggerFactory.Instance))
        {
            link.Start();
            var during = KioskEvent.Now(EventKind.UnknownFace, "recorded while connected");
            _events.Append(during);
            var ids = new List<string>();
            while (ids.Count < 2)
            {
                var m = await MqttTest.NextMessageAsync(watcher);
                using var doc = System.Text.Json.JsonDocument.Parse(m.Payload);
                ids.Add(doc.RootElement.GetProperty("id").GetString()!);
            }
            Assert.Equal([before.Id.ToString("D"), during.Id.ToString("D")], ids);
            var deadline = DateTime.UtcNow + MqttTest.Timeout;
            while (_events.UnsentCount > 0 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.Equal(0, _events.UnsentCount);
        }
    }

    [Fact]
    public void Settings_are_off_without_a_host_and_refuse_names_that_are_not_one_topic_level()
    {
        Assert.Null(MqttLinkSettings.Load(new ConfigurationBuilder().Build()));
        foreach (var bad in new[] { "a/b", "a+b", "#", "front door", new string('k', 65) })
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Mqtt:Host"] = "broker.local", ["Mqtt:Site"] = "hq", ["Mqtt:Kiosk"] = bad,
            }).Build();
            var e = Assert.Throws<SettingsException>(() => MqttLinkSettings.Load(config));
            Assert.Contains("Mqtt:Kiosk", e.Message);
        }
        var noSite = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Mqtt:Host"] = "broker.local" }).Build();
        Assert.Contains("Mqtt:Site", Assert.Throws<SettingsException>(() => MqttLinkSettings.Load(noSite)).Message);

        var ok = MqttLinkSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mqtt:Host"] = "broker.local", ["Mqtt:Site"] = "hq",
        }).Build())!;
        Assert.Equal(MqttLinkSettings.DefaultKioskName(), ok.Topics.Kiosk); // the host name, when not configured
        Assert.Equal($"kiosk-hq-{ok.Topics.Kiosk}", ok.Broker.ClientId);
        Assert.Equal("kiosk/hq/" + ok.Topics.Kiosk + "/events", ok.Topics.Events);
    }

    [Fact]
    public void The_shipped_settings_file_loads_with_a_broker_named_and_keeps_every_default()
    {
        var named = new Dictionary<string, string?> { ["Mqtt:Host"] = "broker.local", ["Mqtt:Site"] = "hq", ["Mqtt:Kiosk"] = "door-1" };
        var shipped = MqttLinkSettings.Load(new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(TestPaths.RepoRoot, "config", "appsettings.json")).AddInMemoryCollection(named).Build())!;
        var defaults = MqttLinkSettings.Load(new ConfigurationBuilder().AddInMemoryCollection(named).Build())!;
        object[] Facts(MqttLinkSettings s) =>
        [
            s.Broker.Port, s.Broker.ClientId, s.Broker.KeepAlive, s.Broker.ProtocolVersion, s.Broker.ReconnectMin, s.Broker.ReconnectMax,
            s.Broker.MaxIncomingBytes, s.Broker.UseTls, s.StatusRefresh, s.Events.Window, s.Events.PollInterval, s.Commands.RequireSignedCommands,
            s.Commands.CommandMaxAge, s.Commands.AllowOpenDoor, s.Commands.MaxCommandBytes, s.Commands.MaxImagesPerCommand, s.Commands.MaxImageBytes,
            s.Fleet.Enabled, s.Fleet.PollInterval, s.Fleet.MaxPayloadBytes,
        ];
        Assert.Equal(Facts(defaults), Facts(shipped));
        Assert.Null(MqttLinkSettings.Load(new ConfigurationBuilder().AddJsonFile(Path.Combine(TestPaths.RepoRoot, "config", "appsettings.json")).Build()));

        // The will is the status topic, and the copy carrying it keeps every other setting.
        var withWill = shipped.Broker.WithWill("kiosk/hq/door-1/status", "offline", 1, true);
        Assert.Equal(shipped.Broker.MaxIncomingBytes, withWill.MaxIncomingBytes);
        Assert.Equal((shipped.Broker.Host, shipped.Broker.ClientId, shipped.Broker.KeepAlive), (withWill.Host, withWill.ClientId, withWill.KeepAlive));
    }
}
