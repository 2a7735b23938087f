using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Kiosk.Host.Events;
using Kiosk.Host.Fleet;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Mqtt.Commands;
using Kiosk.Tests.Events;
using Kiosk.Tests.Faces;
using Kiosk.Tests.Gallery;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Kiosk.Tests.Mqtt;

/// <summary>
/// Issue 5's acceptance, whole: two kiosks of one site, each its own SQLite gallery and event log, each linked to a
/// real mosquitto as the service links it (status, events, commands, fleet gallery). A signed enroll with a JPEG goes
/// to kiosk A; kiosk B recognises the person from another photo within seconds; a signed delete to B; both forget them.
/// </summary>
[Collection(MqttCollection.Name)]
public sealed class FleetAcceptanceTests(ITestOutputHelper output) : IDisposable
{
    private readonly MosquittoBroker _broker = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-fleet-acc-").FullName;

    public void Dispose()
    {
        _broker.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private sealed class Kiosk : IAsyncDisposable
    {
        public required GalleryDir GalleryDir { get; init; }
        public required EventDir EventDir { get; init; }
        public required GalleryService Gallery { get; init; }
        public required EventStore Events { get; init; }
        public required MqttLink Link { get; init; }

        /// <summary>The best decision for the face of a photo, identified as the camera loop would (the lock held).</summary>
        public Vision.Matching.Identification? Identify(string photo)
        {
            lock (Gallery.SyncRoot)
                return Gallery.Identify(PipelineFixture.Load(photo)).Where(f => f.Decision is not null).MaxBy(f => f.Decision!.Value.FastScore)?.Decision;
        }

        public async ValueTask DisposeAsync()
        {
            await Link.DisposeAsync();
            Events.Dispose();
            Gallery.Dispose();
            EventDir.Dispose();
            GalleryDir.Dispose();
        }
    }

    private Kiosk Start(string name, string commandKey, string siteKey)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Mqtt:Host"] = MosquittoBroker.Host,
            ["Mqtt:Port"] = _broker.Port.ToString(CultureInfo.InvariantCulture),
            ["Mqtt:Username"] = MosquittoBroker.Username,
            ["Mqtt:Password"] = MosquittoBroker.Password,
            ["Mqtt:Site"] = "hq",
            ["Mqtt:Kiosk"] = name,
            ["Mqtt:ReconnectMax"] = "00:00:02",
            ["Mqtt:CommandKeyFile"] = commandKey,
            ["Fleet:Enabled"] = "true",
            ["Fleet:SiteKeyFile"] = siteKey,
        }).Build();
        var galleryDir = new GalleryDir();
        var eventDir = new EventDir();
        var gallery = new GalleryService(galleryDir.Open(), keepCrops: false, new FacePipelineOptions { Inference = new InferenceOptions { Threads = 1 } },
            new IdentificationSettings());
        var events = eventDir.Open();
        var link = new MqttLink(MqttLinkSettings.Load(config)!, gallery, events, door: null, NullLoggerFactory.Instance);
        link.Start();
        return new Kiosk { GalleryDir = galleryDir, EventDir = eventDir, Gallery = gallery, Events = events, Link = link };
    }

    /// <summary>Sends a signed command and waits for its reply; resent (same bytes, same request id) until the listener is up.</summary>
    private static async Task<ParsedReply> SendAsync(MqttClient operatorClient, CommandKey key, string topic, string replyTo, JsonObject command)
    {
        byte[] signed = key.Envelope(System.Text.Encoding.UTF8.GetBytes(command.ToJsonString()));
        string id = command["request_id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow + MqttTest.Timeout;
        while (true)
        {
            await operatorClient.PublishAsync(topic, signed, 1);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            try
            {
                while (true)
                {
                    var m = await operatorClient.Messages.ReadAsync(wait.Token);
                    var reply = ParsedReply.From(m.Topic, m.Payload);
                    if (m.Topic == replyTo && reply.RequestId == id) return reply;
                }
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
                // Not answered yet: the kiosk may still be subscribing. The same request id is executed once.
            }
        }
    }

    private static JsonObject Command(string command, string replyTo)
    {
        var c = CommandRig.Command(command, $"{command}-{Guid.NewGuid():N}");
        c["reply_to"] = replyTo;
        return c;
    }

    private static async Task<TimeSpan> UntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < MqttTest.Timeout, $"{what}: not within {MqttTest.Timeout}");
            await Task.Delay(25);
        }
        return clock.Elapsed;
    }

    [Fact]
    public async Task Enrolled_over_mqtt_on_kiosk_a_recognised_on_kiosk_b_deleted_over_mqtt_and_forgotten_by_both()
    {
        string commandKey = Path.Combine(_dir, "command.key"), siteKey = Path.Combine(_dir, "site.key");
        CommandKey.CreateFile(commandKey);
        SiteKey.CreateFile(siteKey);
        using var key = CommandKey.Load(commandKey, "test");
        await using var a = Start("kiosk-a", commandKey, siteKey);
        await using var b = Start("kiosk-b", commandKey, siteKey);
        Assert.False(b.Identify("img4.jpg")?.Accepted ?? false); // nobody yet

        await using var op = new MqttClient(MqttTest.Options(_broker, "operator-" + Guid.NewGuid().ToString("N")));
        op.Start();
        string replies = $"crm/replies/{Guid.NewGuid():N}";
        await op.SubscribeAsync(replies);

        // Enroll on A: a JPEG, base64, in a signed command.
        var enroll = Command("enroll", replies);
        enroll["name"] = "Angelina";
        enroll["external_id"] = "EMP-1";
        enroll["images"] = CommandRig.Photos("img1.jpg");
        var clock = Stopwatch.StartNew();
        var enrolled = await SendAsync(op, key, a.Link.Topics.Commands, replies, enroll);
        Assert.True(enrolled.Ok, enrolled.ToString());
        string uid = enrolled.Person.GetProperty("person_id").GetString()!;
        var replied = clock.Elapsed;

        // B learns of them from the site gallery and recognises them from another photo.
        await UntilAsync(() => b.Gallery.Store.FindByUid(uid) is not null && b.Identify("img4.jpg") is { Accepted: true }, "kiosk B recognising the person");
        var recognised = clock.Elapsed;
        var onB = b.Identify("img4.jpg")!.Value;
        Assert.Equal(b.Gallery.Store.FindByUid(uid)!.Id, onB.PersonId);
        Assert.Equal(("Angelina", "EMP-1"), (b.Gallery.Store.FindByUid(uid)!.Name, b.Gallery.Store.FindByUid(uid)!.ExternalId));
        Assert.True(a.Identify("img4.jpg") is { Accepted: true });
        output.WriteLine($"enroll replied after {replied.TotalMilliseconds:F0} ms; kiosk B recognised the person {recognised.TotalMilliseconds:F0} ms after the command was sent");

        // Delete on B (either kiosk takes commands): both forget them.
        var delete = Command("delete", replies);
        delete["person_id"] = uid;
        var deleted = await SendAsync(op, key, b.Link.Topics.Commands, replies, delete);
        Assert.True(deleted.Ok, deleted.ToString());
        var forgotten = await UntilAsync(() => a.Gallery.Store.FindByUid(uid) is null && b.Gallery.Store.FindByUid(uid) is null, "both kiosks forgetting");
        Assert.False(a.Identify("img4.jpg")?.Accepted ?? false);
        Assert.False(b.Identify("img4.jpg")?.Accepted ?? false);
        Assert.Empty(a.Gallery.Store.TemplatesOf(1));
        Assert.Empty(a.Gallery.Store.ListPeople());
        Assert.Empty(b.Gallery.Store.ListPeople());
        output.WriteLine($"both kiosks forgot the person {forgotten.TotalMilliseconds:F0} ms after the delete reply");

        // The fleet saw no refusals, and get-person on A now says unknown_person.
        Assert.Equal(0, a.Link.Fleet!.Status.Refused);
        Assert.Equal(0, b.Link.Fleet!.Status.Refused);
        var ask = Command("get-person", replies);
        ask["person_id"] = uid;
        Assert.Equal("unknown_person", (await SendAsync(op, key, a.Link.Topics.Commands, replies, ask)).Code);
    }
}
