using System.Diagnostics;
using System.Globalization;
using Kiosk.Host.Fleet;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Tests.Gallery;
using Kiosk.Tests.Mqtt;
using Xunit.Abstractions;
using static Kiosk.Tests.Fleet.FleetTest;

namespace Kiosk.Tests.Fleet;

/// <summary>
/// How the fleet gallery scales: a site of <c>KIOSK_FLEET_BENCH_PEOPLE</c> people (default 1,000) of 5 templates of
/// 512 values (the default model's), published by one kiosk and received by a fresh one. A measurement, not a timed
/// assertion: it prints the figures (run with <c>--logger "console;verbosity=detailed"</c>) and checks only that
/// everyone arrived intact. The figures are in docs/mqtt/gallery.md.
/// </summary>
[Collection(MqttCollection.Name)]
public sealed class SiteGalleryScaleTests(ITestOutputHelper output) : IDisposable
{
    // As docs/mqtt/gallery.md asks of a site's broker: no per-client queue limit, or the retained burst a new
    // kiosk gets is cut at ~1,000 records.
    private readonly MosquittoBroker _broker = new("max_queued_messages 0");

    public void Dispose() => _broker.Dispose();

    [Fact]
    [Trait("Category", "Bench")]
    public async Task Bench_a_fresh_kiosk_converging_on_a_site_of_a_thousand_people_of_five_templates()
    {
        int people = int.TryParse(Environment.GetEnvironmentVariable("KIOSK_FLEET_BENCH_PEOPLE"), CultureInfo.InvariantCulture, out int n) && n > 0 ? n : 1000;
        const int templates = 5, dim = 512;
        string site = Site();
        byte[] key = G.NewKey();
        var options = new FleetOptions { PollInterval = TimeSpan.FromMilliseconds(500) };
        await using var a = new FleetKiosk(_broker, site, "kiosk-a", key, options);
        await using var b = new FleetKiosk(_broker, site, "kiosk-b", key, options);

        var clock = Stopwatch.StartNew();
        var uids = new List<string>(people);
        for (int p = 0; p < people; p++)
        {
            var drafts = Enumerable.Range(0, templates).Select(t => G.Template(p * templates + t, 0.5f + t * 0.1f, model: "default", dim: dim)).ToArray();
            uids.Add(a.Store.Enroll(new PersonDraft($"Person {p}", $"E-{p}", ["staff"]), drafts).Uid);
        }
        var enrolled = clock.Elapsed;

        // Payload sizes: exactly what goes to the broker.
        using (var siteKey = SiteKey.FromBytes(key))
        {
            var codec = new SiteGalleryCodec(siteKey, a.Topics, FleetOptions.MaxPayloadLimit);
            var sizes = uids.Select(u => codec.Seal(a.Store.SiteRecordOf(u)!).Length).ToList();
            long total = sizes.Sum(x => (long)x);
            Print($"payload per person ({templates} x {dim}-value templates): min {sizes.Min()} B, mean {sizes.Average():F0} B, max {sizes.Max()} B; " +
                  $"total {total / 1024.0 / 1024.0:F1} MiB for {people} people");
            byte[] plain = SiteRecordJson.Serialize(a.Store.SiteRecordOf(uids[0])!);
            Print($"of which the canonical plaintext: {plain.Length} B (vector bytes {templates * dim * 4} B)");
        }

        long rssBefore = BrokerRssKiB();
        clock.Restart();
        await a.StartAsync();
        await Eventually(() => a.Store.PendingSitePublications(1).Count == 0, "A published everyone", TimeSpan.FromMinutes(10));
        var published = clock.Elapsed;
        long rssAfter = BrokerRssKiB();

        clock.Restart();
        await b.StartAsync();
        await Eventually(() => b.Sync.Status.Applied == people, "B has everyone", TimeSpan.FromMinutes(10), () => $"{b.Sync.Status}, {b.Store.ListPeople().Count} people");
        var converged = clock.Elapsed;
        int refreshes = b.Refreshes;

        // Reconnect with nothing new: every retained record arrives again and is compared.
        await b.StopAsync();
        clock.Restart();
        await b.StartAsync();
        await Eventually(() => b.Sync.Status.Received >= people, "B received everyone again", TimeSpan.FromMinutes(10));
        var recompared = clock.Elapsed;

        Print($"enroll {people} into kiosk A's SQLite: {enrolled.TotalSeconds:F1} s (not the sync; for scale)");
        Print($"kiosk A publishes {people} records (retained, QoS 1, PUBACK each, then marked published): {published.TotalSeconds:F1} s " +
              $"({people / published.TotalSeconds:F0}/s)");
        Print($"a fresh kiosk B converges on {people} people: {converged.TotalSeconds:F1} s ({people / converged.TotalSeconds:F0}/s), " +
              $"{refreshes} index refreshes");
        Print($"kiosk B reconnects and re-checks {people} unchanged records: {recompared.TotalSeconds:F1} s");
        if (rssBefore > 0) Print($"mosquitto resident memory: {rssBefore / 1024.0:F1} MiB before, {rssAfter / 1024.0:F1} MiB holding the retained records");

        Assert.Equal(people, b.Store.ListPeople().Count);
        foreach (string uid in uids.Where((_, i) => i % 97 == 0)) Assert.Equal(a.State(uid), b.State(uid));
        Assert.Equal(0, b.Sync.Status.Refused);
        Assert.Empty(b.Store.PendingSitePublications(1));
    }

    private void Print(string line) => output.WriteLine(line);

    /// <summary>The test broker's resident memory (its command line names its own config folder), 0 when not found.</summary>
    private long BrokerRssKiB()
    {
        string folder = Path.GetDirectoryName(_broker.LogFile)!;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(folder, StringComparison.Ordinal)) continue;
                string? rss = File.ReadLines(Path.Combine(dir, "status")).FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                return rss is null ? 0 : long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // A process that ended meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Someone else's.
            }
        }
        return 0;
    }
}
