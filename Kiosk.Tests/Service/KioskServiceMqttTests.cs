using System.Globalization;
using System.Text.Json;
using Kiosk.Hardware.Door;
using Kiosk.Host;
using Kiosk.Host.Demo;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Recognition;
using Kiosk.Host.Service;
using Kiosk.Tests.Faces;
using Kiosk.Tests.Mqtt;
using Kiosk.Vision.Capture;
using Kiosk.Vision.Faces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Tests.Service;

/// <summary>
/// The service as systemd runs it, with the site's broker configured: its status goes online, a grant at the door
/// reaches the events topic with the person's site-wide id, and a stop leaves the status offline.
/// </summary>
[Collection(MqttCollection.Name)]
public sealed class KioskServiceMqttTests
{
    [Fact]
    public async Task A_grant_at_the_door_reaches_the_sites_broker_and_the_status_follows_the_service()
    {
        using var broker = new MosquittoBroker();
        string work = Directory.CreateTempSubdirectory("kiosk-svc-mqtt-").FullName;
        try
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Mqtt:Host"] = MosquittoBroker.Host,
                ["Mqtt:Port"] = broker.Port.ToString(CultureInfo.InvariantCulture),
                ["Mqtt:Username"] = MosquittoBroker.Username,
                ["Mqtt:Password"] = MosquittoBroker.Password,
                ["Mqtt:Site"] = "hq",
                ["Mqtt:Kiosk"] = "front-door",
            }).Build();
            var settings = KioskSettings.Load(new ConfigurationBuilder().Build());
            settings = settings with
            {
                Gallery = settings.Gallery with { DatabasePath = Path.Combine(work, "gallery.db"), KeyPath = Path.Combine(work, "gallery.key") },
                Events = settings.Events with { DatabasePath = Path.Combine(work, "events.db") },
            };
            string uid;
            using (var gallery = new GalleryService(GalleryStore.Open(settings.Gallery), false, new FacePipelineOptions(), new IdentificationSettings()))
                uid = gallery.Enroll(new PersonDraft("Angelina"), [new EnrollmentPhoto("img1.jpg", PipelineFixture.Load("img1.jpg"))]).Person!.Uid;
            string clip = Path.Combine(work, "visit.mp4");
            DemoClip.Build([new ClipVisit(Path.Combine(TestPaths.PairsDev, "img2.jpg"), TimeSpan.FromSeconds(2))], clip, gap: TimeSpan.FromSeconds(0.5));
            var service = new ServiceSettings(settings,
                new FrameSourceOptions { Kind = FrameSourceKind.File, Device = clip, Loop = true, Realtime = true },
                new DoorOptions { Driver = DoorOptions.SimulatedDriver, LockLine = 17 },
                new RecognitionOptions(), AccessSchedule.Always, settings.Events) { Mqtt = MqttLinkSettings.Load(config) };

            await using var watcher = new MqttClient(MqttTest.Options(broker, "watcher-" + Guid.NewGuid().ToString("N")));
            watcher.Start();
            await watcher.SubscribeAsync("kiosk/hq/front-door/#");
            var lifetime = new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(NullLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>.Instance);
            var kiosk = new KioskService(service, NullLoggerFactory.Instance, lifetime, TimeProvider.System);
            await kiosk.StartAsync(CancellationToken.None);
            var seen = new List<(string Topic, JsonElement Json)>();
            async Task<JsonElement> Next(string topic, Func<JsonElement, bool> match)
            {
                while (true)
                {
                    var m = await MqttTest.NextMessageAsync(watcher, TimeSpan.FromSeconds(30));
                    var json = JsonDocument.Parse(m.Payload).RootElement.Clone();
                    seen.Add((m.Topic, json));
                    if (m.Topic == topic && match(json)) return json;
                }
            }
            try
            {
                var online = await Next("kiosk/hq/front-door/status", j => j.GetProperty("state").GetString() == "online");
                Assert.Equal(1, online.GetProperty("people").GetInt32());
                var granted = await Next("kiosk/hq/front-door/events", j => j.GetProperty("kind").GetString() == "Granted");
                Assert.Equal(uid, granted.GetProperty("person_uid").GetString());
                Assert.Equal("Angelina", granted.GetProperty("person_name").GetString());
                Assert.Contains(seen, s => s.Topic.EndsWith("/events", StringComparison.Ordinal) && s.Json.GetProperty("kind").GetString() == "ServiceStarted");
            }
            finally
            {
                await kiosk.StopAsync(CancellationToken.None);
            }
            var offline = await Next("kiosk/hq/front-door/status", _ => true);
            Assert.Equal("offline", offline.GetProperty("state").GetString());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
