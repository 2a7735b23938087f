using System.Diagnostics;
using Kiosk.Hardware.Door;
using Kiosk.Host;
using Kiosk.Host.Demo;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Host.Recognition;
using Kiosk.Host.Service;
using Kiosk.Tests.Faces;
using Kiosk.Vision.Capture;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Tests.Service;

[Collection(ModelCollection.Name)]
public sealed class KioskSourceFailureTests
{
    [Fact]
    public async Task The_camera_dies_and_comes_back_and_the_loop_recovers_without_a_restart()
    {
        string work = Directory.CreateTempSubdirectory("kiosk-source-").FullName;
        try
        {
            var settings = KioskSettings.Load(new ConfigurationBuilder().Build());
            settings = settings with
            {
                Gallery = settings.Gallery with { DatabasePath = Path.Combine(work, "gallery.db"), KeyPath = Path.Combine(work, "gallery.key") },
                Events = settings.Events with { DatabasePath = Path.Combine(work, "events.db"), KeepSnapshots = true },
            };
            using (var gallery = new GalleryService(GalleryStore.Open(settings.Gallery), true, new FacePipelineOptions(), new IdentificationSettings()))
                Assert.NotNull(gallery.Enroll(new PersonDraft("Angelina"), [new EnrollmentPhoto("img1.jpg", PipelineFixture.Load("img1.jpg"))]).Person);
            string clip = Path.Combine(work, "visit.mp4");
            DemoClip.Build([new ClipVisit(Path.Combine(TestPaths.PairsDev, "img2.jpg"), TimeSpan.FromSeconds(2))], clip, gap: TimeSpan.FromSeconds(0.5));

            var service = new ServiceSettings(settings,
                new FrameSourceOptions { Kind = FrameSourceKind.File, Device = clip, Loop = true, Realtime = true, RestartBackoffMin = TimeSpan.FromMilliseconds(200) },
                new DoorOptions { Driver = DoorOptions.SimulatedDriver, LockLine = 17 },
                new RecognitionOptions { PersonCooldown = TimeSpan.FromMilliseconds(500) }, AccessSchedule.Always, settings.Events);
            var lifetime = new Microsoft.Extensions.Hosting.Internal.ApplicationLifetime(NullLogger<Microsoft.Extensions.Hosting.Internal.ApplicationLifetime>.Instance);
            var kiosk = new KioskService(service, NullLoggerFactory.Instance, lifetime, TimeProvider.System);
            int grants = 0;
            kiosk.Decided += d => { if (d.Verdict == TrackVerdict.Grant) Interlocked.Increment(ref grants); };
            await kiosk.StartAsync(CancellationToken.None);
            try
            {
                await Until(() => Volatile.Read(ref grants) >= 1, TimeSpan.FromSeconds(30), "a first grant");
                int? pid = kiosk.Source!.ProcessId;
                Assert.NotNull(pid);
                Process.GetProcessById(pid!.Value).Kill(); // the camera dies
                int before = Volatile.Read(ref grants);
                await Until(() => kiosk.Source.ProcessId is { } p && p != pid, TimeSpan.FromSeconds(15), "ffmpeg restarted");
                await Until(() => Volatile.Read(ref grants) > before, TimeSpan.FromSeconds(30), "a grant after the camera came back");
                Assert.Equal(TaskStatus.WaitingForActivation, kiosk.ExecuteTask!.Status); // the service never stopped
            }
            finally
            {
                await kiosk.StopAsync(CancellationToken.None);
            }
            using var store = EventStore.Open(settings.Events);
            var events = store.Query(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
            Assert.Contains(events, e => e.Event.Kind == EventKind.SourceFailed);
            Assert.Contains(events, e => e.Event.Kind == EventKind.SourceRecovered);
            Assert.True(events.Count(e => e.Event.Kind == EventKind.Granted) >= 2);
            // Snapshots switched on: the grants carry the face as a JPEG.
            var granted = events.First(e => e.Event.Kind == EventKind.Granted);
            var jpeg = store.Snapshot(granted.Sequence);
            Assert.NotNull(jpeg);
            Assert.Equal(Kiosk.Vision.Imaging.ImageFormat.Jpeg, Kiosk.Vision.Imaging.ImageDecoder.DetectFormat(jpeg));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task Until(Func<bool> condition, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
