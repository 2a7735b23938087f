using System.Net;
using System.Net.Sockets;
using Kiosk.Host.Mqtt;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Mqtt;

/// <summary>The MQTT tests share libmosquitto's process-wide state and a small machine: one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class MqttCollection
{
    public const string Name = "Mqtt";
}

/// <summary>Keeps every entry, with the exception's full text, for tests on what is logged (and what never is).</summary>
internal sealed class CapturingLogger<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, int Id, string Text)> _entries = [];

    public IReadOnlyList<(LogLevel Level, int Id, string Text)> Entries
    {
        get { lock (_entries) return [.. _entries]; }
    }

    public int Count(int eventId, LogLevel? level = null) => Entries.Count(e => e.Id == eventId && (level is null || e.Level == level));

    public string AllText => string.Join("\n", Entries.Select(e => $"{e.Level} {e.Id} {e.Text}"));

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries) _entries.Add((logLevel, eventId.Id, formatter(state, exception) + (exception is null ? "" : "\n" + exception)));
    }
}

internal static class MqttTest
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static MqttOptions Options(MosquittoBroker broker, string clientId, string? password = MosquittoBroker.Password,
        int? port = null, string? willTopic = null, int protocol = 311) => new()
    {
        Host = MosquittoBroker.Host,
        Port = port ?? broker.Port,
        ClientId = clientId,
        Username = MosquittoBroker.Username,
        Password = password,
        KeepAlive = TimeSpan.FromSeconds(10),
        ReconnectMin = TimeSpan.FromSeconds(1),
        ReconnectMax = TimeSpan.FromSeconds(2),
        WillTopic = willTopic,
        WillPayload = willTopic is null ? "" : "offline",
        ProtocolVersion = protocol,
    };

    public static string Topic(string name) => $"kiosk-test/{name}/{Guid.NewGuid():N}";

    public static async Task<MqttMessage> NextMessageAsync(MqttClient client, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        return await client.Messages.ReadAsync(cts.Token);
    }
}

/// <summary>
/// A TCP relay between a client and the broker. <see cref="DropAll"/> closes the broker-side sockets without an
/// MQTT DISCONNECT: what the broker sees when the kiosk process is killed (the kernel closes its socket) or the
/// cable is pulled, without killing the test process.
/// </summary>
internal sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _target;
    private readonly List<Socket> _sockets = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public TcpRelay(int targetPort)
    {
        _target = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void DropAll()
    {
        lock (_sockets)
        {
            foreach (var s in _sockets) s.Dispose();
            _sockets.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (OperationCanceledException) { return; }
            var broker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await broker.ConnectAsync(IPAddress.Loopback, _target);
            lock (_sockets) { _sockets.Add(client); _sockets.Add(broker); }
            _ = PumpAsync(client, broker);
            _ = PumpAsync(broker, client);
        }
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (n == 0) break;
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // DropAll closed one side: the relay for this connection ends.
        }
        to.Dispose();
        from.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        DropAll();
        _stop.Dispose();
    }
}
