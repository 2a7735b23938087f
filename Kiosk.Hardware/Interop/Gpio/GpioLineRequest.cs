using System.Runtime.InteropServices;
using Kiosk.Hardware.Gpio;
using static Kiosk.Hardware.Interop.Gpio.GpioUapi;

namespace Kiosk.Hardware.Interop.Gpio;

/// <summary>An edge read from a line request (<c>struct gpio_v2_line_event</c>, decoded).</summary>
internal readonly record struct GpioLineEvent(int Line, bool Rising, long TimestampNs, uint Seqno, uint LineSeqno);

/// <summary>One requested line: get/set its value, read its edge events. Releasing it closes the request fd.</summary>
internal sealed unsafe class GpioLineRequest : IDisposable
{
    /// <summary>Events read per read(2); the kernel buffers at least 16 per line by default.</summary>
    public const int EventBatch = 16;

    internal GpioLineRequest(FileDescriptorHandle handle, string chipPath, int line)
    {
        Handle = handle;
        ChipPath = chipPath;
        Line = line;
    }

    internal FileDescriptorHandle Handle { get; }

    public string ChipPath { get; }

    public int Line { get; }

    public bool IsClosed => Handle.IsClosed;

    /// <summary>GPIO_V2_LINE_GET_VALUES_IOCTL: the line's active state (debounced, for an input with debounce).</summary>
    public bool GetValue()
    {
        var values = new gpio_v2_line_values { mask = 1 };
        int rc;
        using (var lease = Handle.Lease())
            rc = Libc.ioctl(lease.Fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &values);
        if (rc < 0)
            throw new GpioException($"reading line {Line} of {ChipPath} failed", Marshal.GetLastPInvokeError(), ChipPath, [Line]);
        return (values.bits & 1) != 0;
    }

    /// <summary>GPIO_V2_LINE_SET_VALUES_IOCTL.</summary>
    public void SetValue(bool active)
    {
        var values = new gpio_v2_line_values { bits = active ? 1UL : 0UL, mask = 1 };
        int rc;
        using (var lease = Handle.Lease())
            rc = Libc.ioctl(lease.Fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &values);
        if (rc < 0)
            throw new GpioException($"setting line {Line} of {ChipPath} to {(active ? "active" : "inactive")} failed",
                Marshal.GetLastPInvokeError(), ChipPath, [Line]);
    }

    /// <summary>
    /// One read(2) of whole events into <paramref name="buffer"/> (called by the event thread once poll() said
    /// readable, so it does not block). Returns the number of events; 0 when nothing was there (EAGAIN or end of file).
    /// </summary>
    /// <param name="fd">the descriptor, leased by the caller for the whole poll round</param>
    public static int ReadEvents(int fd, gpio_v2_line_event* buffer, int capacity, out int errno)
    {
        errno = 0;
        nint read;
        do
        {
            read = Libc.read(fd, buffer, (nuint)(capacity * sizeof(gpio_v2_line_event)));
        }
        while (read < 0 && (errno = Marshal.GetLastPInvokeError()) == Libc.EINTR);
        if (read < 0)
            return errno == Libc.EAGAIN ? 0 : -1;
        return (int)(read / sizeof(gpio_v2_line_event));
    }

    public static GpioLineEvent Decode(in gpio_v2_line_event e) =>
        new((int)e.offset, e.id == GPIO_V2_LINE_EVENT_RISING_EDGE, (long)e.timestamp_ns, e.seqno, e.line_seqno);

    public void Dispose() => Handle.Dispose();
}
