using System.Threading.Channels;
using Kiosk.Host.Fleet;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Tests.Gallery;
using Kiosk.Tests.Mqtt;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Fleet;

/// <summary>
/// One kiosk of a test site: its own gallery in a temporary folder, an MQTT client to the test broker, and a
/// <see cref="SiteGallerySync"/> fed by a pump from the client's message channel (what the kiosk service does).
/// <see cref="StopAsync"/> takes the kiosk offline (sync and client gone, gallery kept); <see cref="StartAsync"/>
/// brings it back with a new client and sync, as a restarted kiosk would.
/// </summary>
internal sealed class FleetKiosk : IAsyncDisposable
{
    private readonly MosquittoBroker _broker;
    private readonly byte[] _siteKey;
    private readonly FleetOptions _options;
    private readonly GalleryDir _dir = new();
    private MqttClient? _client;
    private SiteKey? _key;
    private CancellationTokenSource? _stop;
    private Task? _run, _pump;
    private int _refreshes;

    public FleetKiosk(MosquittoBroker broker, string site, string name, byte[] siteKey, FleetOptions? options = null, int maxTemplates = 5)
    {
        _broker = broker;
        _siteKey = siteKey;
        _options = options ?? new FleetOptions { PollInterval = TimeSpan.FromMilliseconds(500) };
        Topics = new KioskTopics(site, name);
        Store = _dir.Open(_dir.Options(maxTemplates));
    }

    public KioskTopics Topics { get; }
    public GalleryStore Store { get; }
    public Lock SyncRoot { get; } = new();
    public CapturingLogger<SiteGallerySync> Log { get; } = new();
    public SiteGallerySync Sync => _sync ?? throw new InvalidOperationException("the kiosk is not started");
    private SiteGallerySync? _sync;
    public MqttClient Client => _client ?? throw new InvalidOperationException("the kiosk is not started");
    public int Refreshes => Volatile.Read(ref _refreshes);

    public async Task StartAsync()
    {
        _client = new MqttClient(MqttTest.Options(_broker, $"{Topics.Kiosk}-{Guid.NewGuid():N}"[..30]));
        _key = SiteKey.FromBytes(_siteKey);
        // The store stands in for the GalleryService: the refresh counts the reloads the service would do.
        _sync = new SiteGallerySync(_client, Topics, Store, SyncRoot, () => { Interlocked.Increment(ref _refreshes); return true; },
            _key, _options, Log);
        _stop = new CancellationTokenSource();
        _client.Start();
        _run = _sync.RunAsync(_stop.Token);
        var client = _client;
        var sync = _sync;
        _pump = Task.Run(async () =>
        {
            await foreach (var message in client.Messages.ReadAllAsync()) sync.Offer(message);
        });
        await FleetTest.Eventually(() => sync.Status.Subscribed || _run.IsCompleted, $"{Topics.Kiosk} subscribed");
        if (_run.IsCompleted) await _run; // a failure shows here
    }

    public async Task StopAsync()
    {
        if (_stop is null) return;
        _stop.Cancel();
        await _run!.WaitAsync(MqttTest.Timeout);
        await _client!.DisposeAsync();
        await _pump!.WaitAsync(MqttTest.Timeout);
        _key!.Dispose();
        _stop.Dispose();
        _stop = null;
        _sync = null;
        _client = null;
    }

    /// <summary>A local change, as the service or a remote command makes it: the store, then the signal.</summary>
    public T Change<T>(Func<GalleryStore, T> change)
    {
        T result;
        lock (SyncRoot) result = change(Store);
        _sync?.NotifyLocalChange();
        return result;
    }

    public string State(string uid) => FleetTest.Canonical(Store.SiteRecordOf(uid));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Store.Dispose();
        _dir.Dispose();
    }
}

internal static class FleetTest
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static string Site() => "site-" + Guid.NewGuid().ToString("N")[..8];

    public static string Canonical(SiteRecord? record) => record is null ? "(none)" : Convert.ToBase64String(SiteRecordJson.Serialize(record));

    public static async Task Eventually(Func<bool> condition, string what, TimeSpan? timeout = null, Func<string>? state = null)
    {
        var limit = timeout ?? Timeout;
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"not within {limit}: {what}{(state is null ? "" : "; " + state())}");
            await Task.Delay(25);
        }
    }

    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeout;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"not within {limit}: {what}");
            await Task.Delay(100);
        }
    }

    /// <summary>A connected client of its own, for reading retained messages and publishing forged ones.</summary>
    public static async Task<MqttClient> ClientAsync(MosquittoBroker broker, string name)
    {
        var client = new MqttClient(MqttTest.Options(broker, $"{name}-{Guid.NewGuid():N}"[..30]));
        client.Start();
        await client.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        return client;
    }

    /// <summary>The broker's retained message on a topic, as a newly subscribing kiosk gets it (null: none).</summary>
    public static async Task<byte[]?> RetainedAsync(MosquittoBroker broker, string topic)
    {
        await using var client = await ClientAsync(broker, "peek");
        await client.SubscribeAsync(topic, 1).WaitAsync(MqttTest.Timeout);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            return (await client.Messages.ReadAsync(wait.Token)).Payload;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public static PersonDraft Draft(string name, string? externalId = null) => new(name, externalId, ["staff"]);

    public static TemplateDraft[] Templates(int seed, int count = 2, int dim = 128) =>
        [.. Enumerable.Range(0, count).Select(i => G.Template(seed * 100 + i, 0.5f + i * 0.01f, dim: dim))];

    public static int WarningsOf(FleetKiosk kiosk, int eventId) => kiosk.Log.Count(eventId, LogLevel.Warning);
}
