using System.Runtime.InteropServices;
using Kiosk.Host.Mqtt;

namespace Kiosk.Host.Mqtt.Interop;

/// <summary>
/// Raw declarations of libmosquitto, the Eclipse Mosquitto client library (Debian package libmosquitto1,
/// 2.0.11 on bookworm). Signatures, constants and the <c>struct mosquitto_message</c> layout were read from
/// eclipse/mosquitto <c>include/mosquitto.h</c> (LIBMOSQUITTO 2.0.x; the 2.0 ABI is stable across patch releases).
/// C names are kept. Nothing outside <c>Interop/</c> sees these pointers.
/// </summary>
/// <remarks>
/// Thread safety (header, "Topic: Threads"): everything is thread safe except <c>mosquitto_lib_init</c>, which
/// <see cref="MosquittoLibrary.EnsureInitialized"/> calls once under a lock. Callbacks run on the library's network
/// thread (<c>mosquitto_loop_start</c>) with the library's callback mutex held.
/// </remarks>
internal static unsafe partial class Mosquitto
{
    /// <summary>The soname, pinned: libmosquitto's 2.x releases keep ABI version 1.</summary>
    public const string Library = "libmosquitto.so.1";

    // enum mosq_err_t (subset used here)
    public const int MOSQ_ERR_CONN_PENDING = -1;
    public const int MOSQ_ERR_SUCCESS = 0;
    public const int MOSQ_ERR_NOMEM = 1;
    public const int MOSQ_ERR_PROTOCOL = 2;
    public const int MOSQ_ERR_INVAL = 3;
    public const int MOSQ_ERR_NO_CONN = 4;
    public const int MOSQ_ERR_CONN_REFUSED = 5;
    public const int MOSQ_ERR_NOT_FOUND = 6;
    public const int MOSQ_ERR_CONN_LOST = 7;
    public const int MOSQ_ERR_TLS = 8;
    public const int MOSQ_ERR_PAYLOAD_SIZE = 9;
    public const int MOSQ_ERR_NOT_SUPPORTED = 10;
    public const int MOSQ_ERR_AUTH = 11;
    public const int MOSQ_ERR_ACL_DENIED = 12;
    public const int MOSQ_ERR_ERRNO = 14;
    public const int MOSQ_ERR_KEEPALIVE = 19;

    // enum mosq_opt_t
    public const int MOSQ_OPT_PROTOCOL_VERSION = 1;

    // #define MQTT_PROTOCOL_V311 / MQTT_PROTOCOL_V5
    public const int MQTT_PROTOCOL_V311 = 4;
    public const int MQTT_PROTOCOL_V5 = 5;

    /// <summary>CONNACK return codes of MQTT 3.1.1 (mosquitto_connack_string) passed to on_connect.</summary>
    public const int CONNACK_REFUSED_BAD_USERNAME_PASSWORD = 4;
    public const int CONNACK_REFUSED_NOT_AUTHORIZED = 5;
    /// <summary>MQTT 5 reason codes (MOSQ_ERR_BAD_USERNAME_OR_PASSWORD = 134, MQTT_RC_NOT_AUTHORIZED = 135).</summary>
    public const int MQTT_RC_BAD_USERNAME_OR_PASSWORD = 134;
    public const int MQTT_RC_NOT_AUTHORIZED = 135;

    /// <summary>
    /// <c>struct mosquitto_message { int mid; char *topic; void *payload; int payloadlen; int qos; bool retain; };</c>
    /// C <c>bool</c> is one byte. Borrowed: valid only during the message callback.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct mosquitto_message
    {
        public int mid;
        public byte* topic;   // char *
        public void* payload; // void *
        public int payloadlen;
        public int qos;
        public byte retain;   // bool
    }

    // int mosquitto_lib_version(int *major, int *minor, int *revision);
    [LibraryImport(Library)]
    public static partial int mosquitto_lib_version(int* major, int* minor, int* revision);

    // int mosquitto_lib_init(void);
    [LibraryImport(Library)]
    public static partial int mosquitto_lib_init();

    // int mosquitto_lib_cleanup(void);  (process-global; not called while clients may exist)
    [LibraryImport(Library)]
    public static partial int mosquitto_lib_cleanup();

    // struct mosquitto *mosquitto_new(const char *id, bool clean_session, void *obj);
    // obj: a GCHandle (IntPtr) of the owning MqttClient, handed back to every callback.
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial IntPtr mosquitto_new(string id, [MarshalAs(UnmanagedType.U1)] bool clean_session, IntPtr obj);

    // void mosquitto_destroy(struct mosquitto *mosq);
    [LibraryImport(Library)]
    public static partial void mosquitto_destroy(IntPtr mosq);

    // int mosquitto_int_option(struct mosquitto *mosq, enum mosq_opt_t option, int value);
    [LibraryImport(Library)]
    public static partial int mosquitto_int_option(MosquittoHandle mosq, int option, int value);

    // int mosquitto_username_pw_set(struct mosquitto *mosq, const char *username, const char *password);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_username_pw_set(MosquittoHandle mosq, string? username, string? password);

    // int mosquitto_tls_set(struct mosquitto *mosq, const char *cafile, const char *capath, const char *certfile,
    //                       const char *keyfile, int (*pw_callback)(char *buf, int size, int rwflag, void *userdata));
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_tls_set(MosquittoHandle mosq, string? cafile, string? capath, string? certfile, string? keyfile,
        IntPtr pw_callback);

    // int mosquitto_will_set(struct mosquitto *mosq, const char *topic, int payloadlen, const void *payload, int qos, bool retain);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_will_set(MosquittoHandle mosq, string topic, int payloadlen, byte* payload, int qos,
        [MarshalAs(UnmanagedType.U1)] bool retain);

    // int mosquitto_reconnect_delay_set(struct mosquitto *mosq, unsigned int reconnect_delay,
    //                                   unsigned int reconnect_delay_max, bool reconnect_exponential_backoff);
    [LibraryImport(Library)]
    public static partial int mosquitto_reconnect_delay_set(MosquittoHandle mosq, uint reconnect_delay, uint reconnect_delay_max,
        [MarshalAs(UnmanagedType.U1)] bool reconnect_exponential_backoff);

    // int mosquitto_connect_async(struct mosquitto *mosq, const char *host, int port, int keepalive);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int mosquitto_connect_async(MosquittoHandle mosq, string host, int port, int keepalive);

    // int mosquitto_disconnect(struct mosquitto *mosq);
    [LibraryImport(Library)]
    public static partial int mosquitto_disconnect(MosquittoHandle mosq);

    // int mosquitto_loop_start(struct mosquitto *mosq);
    [LibraryImport(Library)]
    public static partial int mosquitto_loop_start(MosquittoHandle mosq);

    // int mosquitto_loop_stop(struct mosquitto *mosq, bool force);  force (pthread_cancel) is never used here.
    [LibraryImport(Library)]
    public static partial int mosquitto_loop_stop(MosquittoHandle mosq, [MarshalAs(UnmanagedType.U1)] bool force);

    // int mosquitto_publish(struct mosquitto *mosq, int *mid, const char *topic, int payloadlen, const void *payload,
    //                       int qos, bool retain);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_publish(MosquittoHandle mosq, int* mid, string topic, int payloadlen, byte* payload, int qos,
        [MarshalAs(UnmanagedType.U1)] bool retain);

    // int mosquitto_subscribe(struct mosquitto *mosq, int *mid, const char *sub, int qos);
    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int mosquitto_subscribe(MosquittoHandle mosq, int* mid, string sub, int qos);

    // void mosquitto_connect_callback_set(struct mosquitto *mosq, void (*on_connect)(struct mosquitto *, void *, int));
    [LibraryImport(Library)]
    public static partial void mosquitto_connect_callback_set(MosquittoHandle mosq, delegate* unmanaged<IntPtr, IntPtr, int, void> on_connect);

    // void mosquitto_disconnect_callback_set(struct mosquitto *mosq, void (*on_disconnect)(struct mosquitto *, void *, int));
    [LibraryImport(Library)]
    public static partial void mosquitto_disconnect_callback_set(MosquittoHandle mosq, delegate* unmanaged<IntPtr, IntPtr, int, void> on_disconnect);

    // void mosquitto_publish_callback_set(struct mosquitto *mosq, void (*on_publish)(struct mosquitto *, void *, int));
    [LibraryImport(Library)]
    public static partial void mosquitto_publish_callback_set(MosquittoHandle mosq, delegate* unmanaged<IntPtr, IntPtr, int, void> on_publish);

    // void mosquitto_message_callback_set(struct mosquitto *mosq,
    //     void (*on_message)(struct mosquitto *, void *, const struct mosquitto_message *));
    [LibraryImport(Library)]
    public static partial void mosquitto_message_callback_set(MosquittoHandle mosq,
        delegate* unmanaged<IntPtr, IntPtr, mosquitto_message*, void> on_message);

    // void mosquitto_subscribe_callback_set(struct mosquitto *mosq,
    //     void (*on_subscribe)(struct mosquitto *, void *, int mid, int qos_count, const int *granted_qos));
    [LibraryImport(Library)]
    public static partial void mosquitto_subscribe_callback_set(MosquittoHandle mosq,
        delegate* unmanaged<IntPtr, IntPtr, int, int, int*, void> on_subscribe);

    // #define MOSQ_LOG_ERR (1<<3)
    public const int MOSQ_LOG_ERR = 1 << 3;

    // void mosquitto_log_callback_set(struct mosquitto *mosq,
    //     void (*on_log)(struct mosquitto *, void *, int level, const char *str));  str borrowed
    [LibraryImport(Library)]
    public static partial void mosquitto_log_callback_set(MosquittoHandle mosq, delegate* unmanaged<IntPtr, IntPtr, int, byte*, void> on_log);

    // const char *mosquitto_strerror(int mosq_errno);  static string, borrowed
    [LibraryImport(Library)]
    public static partial byte* mosquitto_strerror(int mosq_errno);

    // const char *mosquitto_connack_string(int connack_code);  static string, borrowed
    [LibraryImport(Library)]
    public static partial byte* mosquitto_connack_string(int connack_code);

    // const char *mosquitto_reason_string(int reason_code);  static string, borrowed (MQTT 5 reason codes)
    [LibraryImport(Library)]
    public static partial byte* mosquitto_reason_string(int reason_code);

    /// <summary>The library's text for an error code (copied).</summary>
    public static string StrError(int rc) => Marshal.PtrToStringUTF8((IntPtr)mosquitto_strerror(rc)) ?? $"error {rc}";

    /// <summary>The library's text for a CONNACK code (3.1.1) or reason code (5), copied.</summary>
    public static string ConnackString(int code, int protocolVersion) => protocolVersion == MQTT_PROTOCOL_V5 && code >= 128
        ? Marshal.PtrToStringUTF8((IntPtr)mosquitto_reason_string(code)) ?? $"reason code {code}"
        : Marshal.PtrToStringUTF8((IntPtr)mosquitto_connack_string(code)) ?? $"CONNACK {code}";
}

/// <summary>An owned <c>struct mosquitto *</c>, freed with <c>mosquitto_destroy</c> exactly once.</summary>
/// <remarks>The owner stops the network thread (<c>mosquitto_loop_stop</c>) before disposing the handle.</remarks>
internal sealed class MosquittoHandle : SafeHandle
{
    public MosquittoHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    public static MosquittoHandle FromOwned(IntPtr mosq)
    {
        var h = new MosquittoHandle();
        h.SetHandle(mosq);
        return h;
    }

    protected override bool ReleaseHandle()
    {
        Mosquitto.mosquitto_destroy(handle);
        return true;
    }
}

/// <summary>Process-wide library state: <c>mosquitto_lib_init</c> once (it is not thread safe), the version read.</summary>
internal static unsafe class MosquittoLibrary
{
    private static readonly Lock Gate = new();
    private static bool _initialized;

    /// <summary>"2.0.11".</summary>
    public static string Version
    {
        get
        {
            int major, minor, revision;
            Mosquitto.mosquitto_lib_version(&major, &minor, &revision);
            return $"{major}.{minor}.{revision}";
        }
    }

    /// <exception cref="MqttException">libmosquitto.so.1 missing or its init failed</exception>
    public static void EnsureInitialized()
    {
        lock (Gate)
        {
            if (_initialized) return;
            int rc;
            try
            {
                rc = Mosquitto.mosquitto_lib_init();
            }
            catch (DllNotFoundException e)
            {
                throw new MqttException($"{Mosquitto.Library} not found: install the Debian package libmosquitto1 (scripts/setup.sh)",
                    Mosquitto.MOSQ_ERR_NOT_FOUND, e);
            }
            Check(rc, "mosquitto_lib_init");
            _initialized = true;
        }
    }

    /// <summary>Throws <see cref="MqttException"/> with the library's own text unless <paramref name="rc"/> is MOSQ_ERR_SUCCESS.</summary>
    public static void Check(int rc, string what)
    {
        if (rc != Mosquitto.MOSQ_ERR_SUCCESS)
            throw new MqttException($"{what} failed: {Describe(rc)}", rc);
    }

    /// <summary>The library's text for <paramref name="rc"/>, with errno's text for MOSQ_ERR_ERRNO.</summary>
    public static string Describe(int rc, int errno = 0) => rc == Mosquitto.MOSQ_ERR_ERRNO && errno != 0
        ? $"{Mosquitto.StrError(rc)}: {Marshal.GetPInvokeErrorMessage(errno)}"
        : Mosquitto.StrError(rc);
}
