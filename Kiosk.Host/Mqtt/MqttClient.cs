using System.Runtime.InteropServices;
using System.Threading.Channels;
using Kiosk.Host.Mqtt.Interop;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using static Kiosk.Host.Mqtt.Interop.Mosquitto;

namespace Kiosk.Host.Mqtt;

/// <summary>A message received on a subscription; topic and payload are copies, owned by the receiver.</summary>
public sealed record MqttMessage(string Topic, byte[] Payload, int Qos, bool Retain)
{
    /// <summary>How much of a message over <see cref="MqttOptions.MaxIncomingBytes"/> is copied: enough to read its header fields.</summary>
    public const int TruncatedHeadBytes = 64 * 1024;

    /// <summary>The payload's size as sent; more than <see cref="Payload"/>'s when <see cref="Truncated"/>.</summary>
    public int Length { get; init; } = Payload.Length;

    /// <summary>The message was over <see cref="MqttOptions.MaxIncomingBytes"/>: <see cref="Payload"/> holds only its first bytes.</summary>
    public bool Truncated => Length > Payload.Length;
}

/// <summary>
/// Why a connection attempt or a connection ended. <see cref="Code"/> is the CONNACK code (MQTT 3.1.1), the reason
/// code (MQTT 5) or a <c>MOSQ_ERR_*</c> value; <see cref="Reason"/> libmosquitto's own text for it.
/// </summary>
public sealed record MqttConnectionFailure(int Code, string Reason, bool IsNotAuthorized);

/// <summary>
/// An MQTT client over libmosquitto: the library's own network thread (<c>mosquitto_loop_start</c>) keeps the
/// connection, reconnecting with exponential backoff from <see cref="MqttOptions.ReconnectMin"/> to
/// <see cref="MqttOptions.ReconnectMax"/>; QoS 1/2 messages in flight when the connection drops are sent again.
/// </summary>
/// <remarks>
/// Thread safety: every public member may be called from any thread. Events run on the network thread, must be
/// short and must not dispose the client; an exception from a handler is logged, never thrown into the library.
/// Messages are read from <see cref="Messages"/>. Subscriptions are remembered and made again after a reconnect
/// (the session is clean). A failure is logged once at Warning, its repeats at Debug, the recovery at Information.
/// </remarks>
public sealed class MqttClient : IAsyncDisposable
{
    private readonly MqttOptions _options;
    private readonly ILogger _logger;
    private readonly MosquittoHandle _mosq;
    private GCHandle _self;
    private readonly int _protocol;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, TaskCompletionSource> _publishes = [];
    private readonly HashSet<int> _earlyAcks = [];
    private readonly HashSet<int> _abandoned = [];
    private readonly Dictionary<int, (TaskCompletionSource Done, string Topic)> _subscribes = [];
    private readonly Dictionary<int, int> _earlySubacks = [];
    private readonly HashSet<int> _resubscribing = [];
    private readonly Dictionary<string, TaskCompletionSource> _waiting = []; // SubscribeAsync while disconnected
    private readonly Dictionary<string, int> _subscriptions = [];
    private readonly Channel<MqttMessage> _messages = Channel.CreateUnbounded<MqttMessage>();
    private TaskCompletionSource _connected = NewTcs();
    private volatile bool _isConnected;
    private volatile MqttConnectionFailure? _lastFailure;
    private int _failures;
    private bool _gaveUp; // libmosquitto's loop ended on a failure it does not retry; the reviver starts it again
    private bool _gaveUpLogged; // that failure was logged at Error in this outage; repeats go to Debug
    private int _revivals; // consecutive restarts of the loop without a connection: the backoff's exponent
    private readonly SemaphoreSlim _revive = new(0);
    private readonly CancellationTokenSource _reviverStop = new();
    private Task _reviver = Task.CompletedTask;
    private bool _refused; // the connect callback reported this attempt's refusal; its disconnect adds nothing
    private bool _started, _disposed;
    [ThreadStatic] private static MqttClient? t_inCallbackOf; // set while a callback of that client runs on this thread

    /// <exception cref="SettingsException">invalid options (the message names the key)</exception>
    /// <exception cref="MqttException">libmosquitto missing, or it refused an option (e.g. an unreadable CaFile)</exception>
    public MqttClient(MqttOptions options, ILogger<MqttClient>? logger = null)
    {
        options.Validate();
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _protocol = options.ProtocolVersion == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311;
        MosquittoLibrary.EnsureInitialized();
        _self = GCHandle.Alloc(this);
        IntPtr raw = mosquitto_new(options.ClientId, true, GCHandle.ToIntPtr(_self));
        if (raw == IntPtr.Zero)
        {
            int errno = Marshal.GetLastPInvokeError();
            _self.Free();
            throw new MqttException($"mosquitto_new failed: {Marshal.GetPInvokeErrorMessage(errno)}", MOSQ_ERR_ERRNO);
        }
        _mosq = MosquittoHandle.FromOwned(raw);
        try
        {
            Configure();
        }
        catch
        {
            _mosq.Dispose();
            _self.Free();
            throw;
        }
    }

    private unsafe void Configure()
    {
        var o = _options;
        MosquittoLibrary.Check(mosquitto_int_option(_mosq, MOSQ_OPT_PROTOCOL_VERSION, _protocol), "mosquitto_int_option(MOSQ_OPT_PROTOCOL_VERSION)");
        if (!string.IsNullOrEmpty(o.Username))
            MosquittoLibrary.Check(mosquitto_username_pw_set(_mosq, o.Username, o.Password), "mosquitto_username_pw_set"); // the text never includes the password
        if (o.UseTls)
        {
            int rc = mosquitto_tls_set(_mosq, o.CaFile, null, o.CertFile, o.KeyFile, IntPtr.Zero);
            if (rc != MOSQ_ERR_SUCCESS)
                throw new MqttException($"mosquitto_tls_set failed for Mqtt:CaFile {o.CaFile}" +
                    (o.CertFile is null ? "" : $", Mqtt:CertFile {o.CertFile}, Mqtt:KeyFile {o.KeyFile}") +
                    $": {MosquittoLibrary.Describe(rc)}", rc);
        }
        if (o.WillTopic is not null)
        {
            byte[] will = System.Text.Encoding.UTF8.GetBytes(o.WillPayload);
            fixed (byte* p = will)
                MosquittoLibrary.Check(mosquitto_will_set(_mosq, o.WillTopic, will.Length, p, o.WillQos, o.WillRetain), "mosquitto_will_set");
        }
        MosquittoLibrary.Check(mosquitto_reconnect_delay_set(_mosq, (uint)o.ReconnectMin.TotalSeconds, (uint)o.ReconnectMax.TotalSeconds,
            o.ReconnectMax > o.ReconnectMin), "mosquitto_reconnect_delay_set");
        mosquitto_connect_callback_set(_mosq, &OnConnect);
        mosquitto_disconnect_callback_set(_mosq, &OnDisconnect);
        mosquitto_publish_callback_set(_mosq, &OnPublish);
        mosquitto_subscribe_callback_set(_mosq, &OnSubscribe);
        mosquitto_message_callback_set(_mosq, &OnMessage);
        mosquitto_log_callback_set(_mosq, &OnLog);
    }

    /// <summary>Raised on the network thread when the broker accepted the connection (CONNACK 0).</summary>
    public event Action? Connected;

    /// <summary>Raised on the network thread when the broker refused the connection (wrong password: not authorised).</summary>
    public event Action<MqttConnectionFailure>? ConnectFailed;

    /// <summary>Raised on the network thread when the connection ended; code 0 when this client disconnected.</summary>
    public event Action<MqttConnectionFailure>? Disconnected;

    /// <summary>Raised on the network thread with the message id the broker acknowledged (PUBACK/PUBCOMP; QoS 0: sent).</summary>
    public event Action<int>? Published;

    /// <summary>Messages on the subscriptions, in arrival order; completed when the client is disposed.</summary>
    public ChannelReader<MqttMessage> Messages => _messages.Reader;

    public bool IsConnected => _isConnected;

    /// <summary>The last refusal or loss since the last successful connection; null while none.</summary>
    public MqttConnectionFailure? LastFailure => _lastFailure;

    /// <summary>Starts connecting on the network thread; returns at once. A broker down now is retried.</summary>
    /// <exception cref="MqttException">the network thread could not be started</exception>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_started) throw new InvalidOperationException("MqttClient.Start was already called");
            _started = true;
        }
        var o = _options;
        Log.MqttConnecting(_logger, o.Host, o.Port, o.ClientId, o.ProtocolVersion == 5 ? "5" : "3.1.1",
            o.UseTls ? "TLS" : "plain TCP", MosquittoLibrary.Version);
        int rc = mosquitto_connect_async(_mosq, o.Host, o.Port, (int)o.KeepAlive.TotalSeconds);
        if (rc != MOSQ_ERR_SUCCESS)
        {
            // Not fatal: the network thread retries (mosquitto_loop_forever reconnects after the delay).
            NoteFailure("cannot connect", new MqttConnectionFailure(rc, MosquittoLibrary.Describe(rc, Marshal.GetLastPInvokeError()), false));
        }
        MosquittoLibrary.Check(mosquitto_loop_start(_mosq), "mosquitto_loop_start");
        _reviver = Task.Run(ReviveAsync);
    }

    /// <summary>
    /// libmosquitto 2.0 ends its network loop on some failures instead of retrying (an MQTT 5 refusal such as a wrong
    /// password, a failed TLS handshake). A kiosk must come back by itself once the broker or its settings are put
    /// right, so the loop is started again here, with the same backoff as the library's own reconnects.
    /// </summary>
    private async Task ReviveAsync()
    {
        var ct = _reviverStop.Token;
        try
        {
            while (true)
            {
                await _revive.WaitAsync(ct).ConfigureAwait(false);
                int n;
                lock (_gate) n = _revivals++;
                double seconds = Math.Min(_options.ReconnectMax.TotalSeconds, _options.ReconnectMin.TotalSeconds * Math.Pow(2, Math.Min(n, 20)));
                await Task.Delay(TimeSpan.FromSeconds(seconds), ct).ConfigureAwait(false);
                lock (_gate)
                {
                    if (_disposed || !_gaveUp) continue;
                    _gaveUp = false;
                }
                // disconnect marks the state so that the loop (if still unwinding) ends; loop_stop joins its thread.
                mosquitto_disconnect(_mosq);
                mosquitto_loop_stop(_mosq, false);
                int rc = mosquitto_connect_async(_mosq, _options.Host, _options.Port, (int)_options.KeepAlive.TotalSeconds);
                if (rc != MOSQ_ERR_SUCCESS)
                    NoteFailure("cannot connect", new MqttConnectionFailure(rc, MosquittoLibrary.Describe(rc, Marshal.GetLastPInvokeError()), false));
                rc = mosquitto_loop_start(_mosq);
                if (rc != MOSQ_ERR_SUCCESS)
                {
                    NoteFailure("cannot start its network thread", new MqttConnectionFailure(rc, MosquittoLibrary.Describe(rc), false), fatal: true);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Completes when the client is connected (at once if it is).</summary>
    public Task WaitConnectedAsync(CancellationToken cancellationToken = default)
    {
        Task t;
        lock (_gate) t = _connected.Task;
        return t.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Publishes and completes when the broker acknowledged the message (QoS 1: PUBACK, QoS 2: PUBCOMP; QoS 0: when
    /// written). While disconnected a QoS 1/2 message waits in libmosquitto's queue and is sent on reconnect, so the
    /// task may take as long as the outage. Cancelling stops the wait, not the delivery.
    /// </summary>
    /// <exception cref="MqttException">refused by the library (e.g. QoS 0 while disconnected, payload too large)</exception>
    public unsafe Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, int qos = 1, bool retain = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(qos);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qos, 2);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        int mid = 0, rc;
        fixed (byte* p = payload.Span)
            rc = mosquitto_publish(_mosq, &mid, topic, payload.Length, p, qos, retain);
        // MOSQ_ERR_NO_CONN with QoS > 0: the message is already in the library's outgoing queue (mosquitto_publish
        // queues before trying to send) and goes out on reconnect with the same id.
        if (rc != MOSQ_ERR_SUCCESS && !(rc == MOSQ_ERR_NO_CONN && qos > 0))
            throw new MqttException($"publishing to {topic} failed: {MosquittoLibrary.Describe(rc, Marshal.GetLastPInvokeError())}", rc);
        int id = mid;
        var done = NewTcs();
        lock (_gate)
        {
            if (_earlyAcks.Remove(id)) return Task.CompletedTask;
            _publishes[id] = done;
        }
        if (cancellationToken.CanBeCanceled)
        {
            var registration = cancellationToken.Register(() =>
            {
                lock (_gate)
                {
                    if (!_publishes.Remove(id)) return;
                    _abandoned.Add(id);
                }
                done.TrySetCanceled(cancellationToken);
            });
            // Released with the publish: a long-lived token (the service's) must not collect one per message.
            done.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return done.Task;
    }

    /// <summary>
    /// Subscribes and completes on the broker's SUBACK. The subscription is remembered and made again after every
    /// reconnect; called while disconnected, it is made on the next connection and the task completes then.
    /// </summary>
    /// <exception cref="MqttException">the library refused the topic, or the broker refused the subscription (task)</exception>
    public Task SubscribeAsync(string topic, int qos = 1, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(topic);
        ArgumentOutOfRangeException.ThrowIfNegative(qos);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(qos, 2);
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_gate) _subscriptions[topic] = qos;
        var done = NewTcs();
        int rc = Subscribe(topic, qos, done);
        if (rc == MOSQ_ERR_NO_CONN)
        {
            lock (_gate)
            {
                if (_waiting.TryGetValue(topic, out var earlier)) return earlier.Task.WaitAsync(cancellationToken);
                _waiting[topic] = done;
            }
            // Connected meanwhile, perhaps after the connect callback made its subscriptions: make it here.
            if (_isConnected && TakeWaiter(topic, done) && Subscribe(topic, qos, done) is var again && again != MOSQ_ERR_SUCCESS)
                lock (_gate) _waiting.TryAdd(topic, done);
        }
        else if (rc != MOSQ_ERR_SUCCESS)
        {
            lock (_gate) _subscriptions.Remove(topic);
            throw new MqttException($"subscribing to {topic} failed: {MosquittoLibrary.Describe(rc)}", rc);
        }
        return done.Task.WaitAsync(cancellationToken);
    }

    private bool TakeWaiter(string topic, TaskCompletionSource done)
    {
        lock (_gate)
            return _waiting.TryGetValue(topic, out var w) && w == done && _waiting.Remove(topic);
    }

    /// <summary>mosquitto_subscribe; on success <paramref name="done"/> completes with the SUBACK.</summary>
    private unsafe int Subscribe(string topic, int qos, TaskCompletionSource done)
    {
        int mid = 0;
        int rc = mosquitto_subscribe(_mosq, &mid, topic, qos);
        if (rc != MOSQ_ERR_SUCCESS) return rc;
        lock (_gate)
        {
            // The SUBACK may have been handled before the id was recorded here.
            if (_earlySubacks.Remove(mid, out int early)) CompleteSubscribe(done, topic, early);
            else _subscribes[mid] = (done, topic);
        }
        return rc;
    }

    public async ValueTask DisposeAsync()
    {
        bool started;
        lock (_gate)
        {
            if (_disposed) return;
            if (ReferenceEquals(t_inCallbackOf, this))
                throw new InvalidOperationException("an MqttClient cannot be disposed from its own event handler");
            _disposed = true;
            started = _started;
        }
        // The reviver first: it must not start a network loop while this one stops it.
        await _reviverStop.CancelAsync().ConfigureAwait(false);
        await _reviver.ConfigureAwait(false);
        _reviverStop.Dispose();
        _revive.Dispose();
        if (started)
        {
            mosquitto_disconnect(_mosq); // MOSQ_ERR_NO_CONN while reconnecting: nothing to send, the loop still ends.
            // loop_stop(force: false) joins the network thread, which leaves its loop once the state is "disconnecting".
            await Task.Run(() => mosquitto_loop_stop(_mosq, false)).ConfigureAwait(false);
        }
        _mosq.Dispose();
        _self.Free();
        List<TaskCompletionSource> pending;
        List<TaskCompletionSource> subs;
        lock (_gate)
        {
            pending = [.. _publishes.Values];
            subs = [.. _subscribes.Values.Select(s => s.Done), .. _waiting.Values];
            _publishes.Clear();
            _subscribes.Clear();
            _waiting.Clear();
        }
        foreach (var tcs in pending.Concat(subs))
            tcs.TrySetException(new MqttException("the MQTT client was disposed before the broker acknowledged", MOSQ_ERR_NO_CONN));
        _messages.Writer.TryComplete();
    }

    // ---- callbacks: the network thread, with libmosquitto's callback mutex held --------------------------------

    private static MqttClient? From(IntPtr obj) => obj == IntPtr.Zero ? null : GCHandle.FromIntPtr(obj).Target as MqttClient;

    [UnmanagedCallersOnly]
    private static void OnConnect(IntPtr mosq, IntPtr obj, int rc) => Guard(obj, "connect", static (c, rc) => c.HandleConnect(rc), rc);

    [UnmanagedCallersOnly]
    private static void OnDisconnect(IntPtr mosq, IntPtr obj, int rc) => Guard(obj, "disconnect", static (c, rc) => c.HandleDisconnect(rc), rc);

    [UnmanagedCallersOnly]
    private static void OnPublish(IntPtr mosq, IntPtr obj, int mid) => Guard(obj, "publish", static (c, mid) => c.HandlePublish(mid), mid);

    [UnmanagedCallersOnly]
    private static unsafe void OnSubscribe(IntPtr mosq, IntPtr obj, int mid, int qosCount, int* grantedQos)
    {
        int granted = qosCount > 0 && grantedQos != null ? grantedQos[0] : 0x80;
        Guard(obj, "subscribe", static (c, arg) => c.HandleSubscribe((int)(arg >> 32), (int)arg), ((long)mid << 32) | (uint)granted);
    }

    [UnmanagedCallersOnly]
    private static unsafe void OnMessage(IntPtr mosq, IntPtr obj, mosquitto_message* message)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            if (client is null || message == null) return;
            string topic = Marshal.PtrToStringUTF8((IntPtr)message->topic) ?? "";
            int length = Math.Max(0, message->payloadlen);
            // An oversized message is not copied whole into managed memory: its head lets the receiver still say why.
            int copied = length > client._options.MaxIncomingBytes ? Math.Min(length, MqttMessage.TruncatedHeadBytes) : length;
            byte[] payload = copied > 0 ? new ReadOnlySpan<byte>(message->payload, copied).ToArray() : [];
            client._messages.Writer.TryWrite(new MqttMessage(topic, payload, message->qos, message->retain != 0) { Length = length });
        }
        catch (Exception e)
        {
            ReportHandlerFailure(client, "message", e);
        }
    }

    /// <summary>
    /// The library's error lines only: a failed TLS handshake reaches no other callback (libmosquitto 2.0's network
    /// loop treats MOSQ_ERR_TLS as fatal and ends without calling on_disconnect).
    /// </summary>
    [UnmanagedCallersOnly]
    private static unsafe void OnLog(IntPtr mosq, IntPtr obj, int level, byte* text)
    {
        if ((level & MOSQ_LOG_ERR) == 0 || text == null) return;
        MqttClient? client = null;
        try
        {
            client = From(obj);
            if (client is null) return;
            string line = Marshal.PtrToStringUTF8((IntPtr)text) ?? "";
            // An OpenSSL error ends libmosquitto 2.0's network loop (MOSQ_ERR_TLS is fatal there): no further attempt.
            client.NoteFailure("reports an error", new MqttConnectionFailure(MOSQ_ERR_TLS_OR_NETWORK, line, false),
                fatal: line.StartsWith("OpenSSL Error", StringComparison.Ordinal));
        }
        catch (Exception e)
        {
            ReportHandlerFailure(client, "log", e);
        }
    }

    /// <summary>The code of a failure known only from the library's error log line (MOSQ_ERR_UNKNOWN).</summary>
    private const int MOSQ_ERR_TLS_OR_NETWORK = 13;

    private static void Guard<T>(IntPtr obj, string callback, Action<MqttClient, T> handle, T arg)
    {
        MqttClient? client = null;
        try
        {
            client = From(obj);
            if (client is null) return;
            t_inCallbackOf = client;
            handle(client, arg);
        }
        catch (Exception e)
        {
            ReportHandlerFailure(client, callback, e);
        }
        finally
        {
            t_inCallbackOf = null;
        }
    }

    private static void ReportHandlerFailure(MqttClient? client, string callback, Exception e)
    {
        try
        {
            if (client is not null) Log.MqttHandlerFailed(client._logger, callback, e);
        }
        catch (Exception)
        {
            // A logger that throws has nowhere left to report to; nothing may cross into libmosquitto.
        }
    }

    private void HandleConnect(int rc)
    {
        if (rc != 0)
        {
            bool notAuthorized = rc is CONNACK_REFUSED_BAD_USERNAME_PASSWORD or CONNACK_REFUSED_NOT_AUTHORIZED
                or MQTT_RC_BAD_USERNAME_OR_PASSWORD or MQTT_RC_NOT_AUTHORIZED;
            var failure = new MqttConnectionFailure(rc, ConnackString(rc, _protocol), notAuthorized);
            lock (_gate) _refused = true;
            // MQTT 5 reason codes >= 128 make libmosquitto 2.0's handle__connack return MOSQ_ERR_PROTOCOL, which ends
            // its network loop: unlike an MQTT 3.1.1 refusal, it is not retried.
            NoteFailure("refused the connection", failure, fatal: _protocol == MQTT_PROTOCOL_V5 && rc >= 128);
            Raise(ConnectFailed, failure, "ConnectFailed");
            return;
        }
        int failures;
        TaskCompletionSource connected;
        KeyValuePair<string, int>[] subscriptions;
        lock (_gate)
        {
            failures = _failures;
            _failures = 0;
            _revivals = 0;
            _gaveUpLogged = false;
            _lastFailure = null;
            _isConnected = true;
            connected = _connected;
            subscriptions = [.. _subscriptions];
        }
        if (failures > 0) Log.MqttRecovered(_logger, _options.Host, _options.Port, failures);
        else Log.MqttConnected(_logger, _options.Host, _options.Port);
        foreach (var (topic, qos) in subscriptions)
            Resubscribe(topic, qos);
        connected.TrySetResult();
        Raise(Connected);
    }

    /// <summary>On the network thread, so the SUBACK cannot be handled before the id is recorded.</summary>
    private unsafe void Resubscribe(string topic, int qos)
    {
        int mid = 0;
        int rc = mosquitto_subscribe(_mosq, &mid, topic, qos);
        if (rc == MOSQ_ERR_SUCCESS)
        {
            lock (_gate)
            {
                if (_waiting.Remove(topic, out var waiter)) _subscribes[mid] = (waiter, topic);
                else _resubscribing.Add(mid);
            }
        }
        else NoteFailure($"subscription {topic} failed", new MqttConnectionFailure(rc, MosquittoLibrary.Describe(rc), false));
    }

    private void HandleDisconnect(int rc)
    {
        bool wasConnected, refused;
        lock (_gate)
        {
            wasConnected = _isConnected;
            refused = _refused;
            _refused = false;
            _isConnected = false;
            if (wasConnected && _connected.Task.IsCompleted) _connected = NewTcs();
        }
        var failure = new MqttConnectionFailure(rc, rc == 0 ? "disconnected by the client" : MosquittoLibrary.Describe(rc), false);
        if (rc == 0)
            Log.MqttDisconnected(_logger, _options.Host, _options.Port);
        else if (wasConnected)
            NoteFailure("lost the connection", failure);
        else if (!refused)
            NoteFailure("cannot connect", failure); // e.g. the TLS handshake failed
        // else: the end of a refused attempt, already reported by the connect callback.
        Raise(Disconnected, failure, "Disconnected");
    }

    private void HandlePublish(int mid)
    {
        TaskCompletionSource? done;
        lock (_gate)
        {
            if (_publishes.Remove(mid, out done)) { }
            else if (!_abandoned.Remove(mid)) _earlyAcks.Add(mid); // acknowledged before PublishAsync recorded the id
        }
        done?.TrySetResult();
        Raise(Published, mid, "Published");
    }

    private void HandleSubscribe(int mid, int granted)
    {
        (TaskCompletionSource Done, string Topic) sub;
        lock (_gate)
        {
            if (!_subscribes.Remove(mid, out sub))
            {
                // A resubscription after reconnect (nobody waits), or SubscribeAsync has not recorded the id yet.
                if (!_resubscribing.Remove(mid)) _earlySubacks[mid] = granted;
                return;
            }
        }
        CompleteSubscribe(sub.Done, sub.Topic, granted);
    }

    private void CompleteSubscribe(TaskCompletionSource done, string topic, int granted)
    {
        if (granted >= 0x80)
        {
            Log.MqttSubscribeRefused(_logger, topic);
            done.TrySetException(new MqttException($"the broker refused the subscription {topic}", MOSQ_ERR_ACL_DENIED));
        }
        else done.TrySetResult();
    }

    private void NoteFailure(string what, MqttConnectionFailure failure, bool fatal = false)
    {
        int count;
        bool first, revive;
        lock (_gate)
        {
            count = ++_failures;
            _lastFailure = failure;
            first = fatal && !_gaveUpLogged;
            _gaveUpLogged |= fatal;
            revive = fatal && !_gaveUp && !_disposed;
            _gaveUp |= fatal;
        }
        if (revive) _revive.Release();
        if (fatal)
        {
            if (first) Log.MqttGaveUp(_logger, _options.Host, _options.Port, what, failure.Reason);
            else Log.MqttFailureRepeated(_logger, _options.Host, _options.Port, what, failure.Reason, count);
        }
        else if (count == 1)
            Log.MqttFailure(_logger, _options.Host, _options.Port, what, failure.Reason, _options.ReconnectMin, _options.ReconnectMax);
        else
            Log.MqttFailureRepeated(_logger, _options.Host, _options.Port, what, failure.Reason, count);
    }

    private void Raise(Action? handler)
    {
        try { handler?.Invoke(); }
        catch (Exception e) { Log.MqttHandlerFailed(_logger, "Connected", e); }
    }

    private void Raise<T>(Action<T>? handler, T arg, string name)
    {
        try { handler?.Invoke(arg); }
        catch (Exception e) { Log.MqttHandlerFailed(_logger, name, e); }
    }

    private static TaskCompletionSource NewTcs() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
