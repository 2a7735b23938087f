using Kiosk.Host.Fleet;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Tests.Faces;
using Kiosk.Tests.Gallery;
using Kiosk.Tests.Mqtt;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;
using Kiosk.Vision.Matching;
using static Kiosk.Tests.Fleet.FleetTest;

namespace Kiosk.Tests.Fleet;

/// <summary>
/// The fleet gallery end to end with real models: a person enrolled from photos on one kiosk is recognised by
/// another, and stops being recognised there once deleted on the first. (Real models on two kiosks, but the broker
/// makes this an MQTT test: the Mqtt collection.)
/// </summary>
[Collection(MqttCollection.Name)]
public sealed class SiteGalleryRecognitionTests : IDisposable
{
    private static readonly FacePipelineOptions Pipeline = new() { Inference = new InferenceOptions { Threads = 1 } };
    private readonly MosquittoBroker _broker = new();
    private readonly GalleryDir _dirA = new(), _dirB = new();

    public void Dispose()
    {
        _broker.Dispose();
        _dirA.Dispose();
        _dirB.Dispose();
    }

    private sealed class Kiosk(GalleryService gallery, MqttClient client, SiteGallerySync sync, SiteKey key, CancellationTokenSource stop, Task run, Task pump)
        : IAsyncDisposable
    {
        public GalleryService Gallery => gallery;
        public SiteGallerySync Sync => sync;

        public Identification? Who(string image)
        {
            lock (gallery.SyncRoot)
                return gallery.Identify(PipelineFixture.Load(image)).Where(f => f.Decision is not null).MaxBy(f => f.Decision!.Value.FastScore)?.Decision;
        }

        public async ValueTask DisposeAsync()
        {
            stop.Cancel();
            await run.WaitAsync(MqttTest.Timeout);
            await client.DisposeAsync();
            await pump.WaitAsync(MqttTest.Timeout);
            key.Dispose();
            gallery.Dispose();
        }
    }

    private static async Task<Kiosk> StartAsync(MosquittoBroker broker, GalleryDir dir, string site, string name, byte[] siteKey)
    {
        var gallery = new GalleryService(dir.Open(), keepCrops: true, Pipeline, new IdentificationSettings());
        var client = new MqttClient(MqttTest.Options(broker, $"{name}-{Guid.NewGuid():N}"[..30]));
        var key = SiteKey.FromBytes(siteKey);
        var sync = new SiteGallerySync(client, new KioskTopics(site, name), gallery, key, new FleetOptions { PollInterval = TimeSpan.FromMilliseconds(500) });
        var stop = new CancellationTokenSource();
        client.Start();
        var run = sync.RunAsync(stop.Token);
        var pump = Task.Run(async () =>
        {
            await foreach (var message in client.Messages.ReadAllAsync()) sync.Offer(message);
        });
        await Eventually(() => sync.Status.Subscribed, $"{name} subscribed");
        return new Kiosk(gallery, client, sync, key, stop, run, pump);
    }

    [Fact]
    public async Task A_person_enrolled_from_photos_on_one_kiosk_is_recognised_by_another_until_deleted()
    {
        string site = Site();
        byte[] siteKey = G.NewKey();
        await using var a = await StartAsync(_broker, _dirA, site, "door-a", siteKey);
        await using var b = await StartAsync(_broker, _dirB, site, "door-b", siteKey);
        Assert.False(b.Who("img4.jpg")?.Accepted ?? false);

        Person angelina;
        lock (a.Gallery.SyncRoot)
            angelina = a.Gallery.Enroll(new PersonDraft("Angelina", "A-1"), [new("img1.jpg", PipelineFixture.Load("img1.jpg")), new("img2.jpg", PipelineFixture.Load("img2.jpg"))]).Person!;
        a.Sync.NotifyLocalChange();

        await Eventually(() => b.Who("img4.jpg") is { Accepted: true }, "Angelina recognised on kiosk B", TimeSpan.FromSeconds(60));
        var onB = b.Gallery.Store.FindByUid(angelina.Uid)!;
        Assert.Equal(onB.Id, b.Who("img4.jpg")!.Value.PersonId);
        Assert.Empty(b.Gallery.Store.LoadCrops()); // the face crops stay on the kiosk that took the photos
        Assert.False(b.Who("img26.jpg")?.Accepted ?? false); // never enrolled anywhere

        lock (a.Gallery.SyncRoot) a.Gallery.Remove(angelina.Id);
        a.Sync.NotifyLocalChange();

        await Eventually(() => b.Who("img4.jpg") is not { Accepted: true }, "Angelina no longer recognised on kiosk B", TimeSpan.FromSeconds(60));
        Assert.Null(b.Gallery.Store.FindByUid(angelina.Uid));
    }
}
