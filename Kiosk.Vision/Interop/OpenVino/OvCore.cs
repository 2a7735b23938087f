using System.Runtime.InteropServices;
using System.Text;

namespace Kiosk.Vision.Interop.OpenVino;

/// <summary>
/// The process-wide ov_core_t, created on first use (thread-safe) and kept for the life of the process: ov::Core is
/// thread-safe, and one core shares its loaded plugins (and the NCS2's USB session) between all models.
/// </summary>
internal static unsafe class OvCore
{
    private static readonly Lock Gate = new();
    private static OvCoreHandle? _core;

    /// <summary>The shared core (loads the library; throws OpenVinoNotFoundException or OpenVinoException).</summary>
    public static OvCoreHandle Handle
    {
        get
        {
            var core = Volatile.Read(ref _core);
            if (core is not null) return core;
            lock (Gate)
            {
                if (_core is not null) return _core;
                var api = OvLibrary.Api;
                var h = new OvCoreHandle();
                nint p;
                OvLibrary.Check(api.ov_core_create(&p), "ov_core_create");
                Marshal.InitHandle(h, p);
                Volatile.Write(ref _core, h);
                return h;
            }
        }
    }

    /// <summary>Tests only (through OvLibrary.ResetForTests): frees the shared core.</summary>
    internal static void ResetForTests()
    {
        lock (Gate)
        {
            _core?.Dispose();
            Volatile.Write(ref _core, null);
        }
    }

    /// <summary>ov_core_get_available_devices: "CPU", "GPU.0", "MYRIAD", "MYRIAD.1.2-ma2480" ...</summary>
    public static IReadOnlyList<string> AvailableDevices()
    {
        var api = OvLibrary.Api;
        nint core = Handle.DangerousGetHandle();
        ov_available_devices_t list = default;
        OvLibrary.Check(api.ov_core_get_available_devices(core, &list), "ov_core_get_available_devices");
        try
        {
            var names = new string[(int)list.size];
            for (int i = 0; i < names.Length; i++)
                names[i] = Marshal.PtrToStringUTF8((nint)list.devices[i]) ?? "";
            return names;
        }
        finally
        {
            api.ov_available_devices_free(&list);
        }
    }

    /// <summary>ov_core_get_property as a string, e.g. ("CPU", "FULL_DEVICE_NAME").</summary>
    public static string GetProperty(string device, string key)
    {
        var api = OvLibrary.Api;
        nint core = Handle.DangerousGetHandle();
        byte* value = null;
        fixed (byte* d = Utf8(device))
        fixed (byte* k = Utf8(key))
            OvLibrary.Check(api.ov_core_get_property(core, d, k, &value), "ov_core_get_property");
        return OvLibrary.TakeString(value);
    }

    /// <summary>UTF-8 bytes with a terminating NUL.</summary>
    internal static byte[] Utf8(string s)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
