using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Kiosk.Hardware.Interop.Gpio;

/// <summary>A file descriptor owned by managed code, closed with <c>close(2)</c> exactly once.</summary>
internal abstract class FileDescriptorHandle : SafeHandleMinusOneIsInvalid
{
    protected FileDescriptorHandle(int fd) : base(ownsHandle: true) => SetHandle(fd);

    /// <summary>The descriptor for one native call; holds a reference so a concurrent Dispose defers the close.</summary>
    /// <exception cref="ObjectDisposedException">the handle was already disposed</exception>
    public FdLease Lease()
    {
        bool added = false;
        DangerousAddRef(ref added);
        return new FdLease(this, (int)handle);
    }

    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}

/// <summary>A borrowed descriptor number, valid until <see cref="Dispose"/>.</summary>
internal readonly ref struct FdLease
{
    private readonly SafeHandle _owner;

    public FdLease(SafeHandle owner, int fd)
    {
        _owner = owner;
        Fd = fd;
    }

    public int Fd { get; }

    public void Dispose() => _owner.DangerousRelease();
}

/// <summary>An open <c>/dev/gpiochipN</c>.</summary>
internal sealed class GpioChipHandle(int fd) : FileDescriptorHandle(fd);

/// <summary>
/// A line request's anonymous descriptor (from GPIO_V2_GET_LINE_IOCTL). Closing it releases the lines: the kernel
/// does the same when the process dies.
/// </summary>
internal sealed class GpioLineRequestHandle(int fd) : FileDescriptorHandle(fd);

/// <summary>An eventfd used to wake a thread blocked in poll().</summary>
internal sealed class EventFdHandle(int fd) : FileDescriptorHandle(fd);

/// <summary>One end of a pipe (tests feed the event loop through one).</summary>
internal sealed class PipeEndHandle(int fd) : FileDescriptorHandle(fd);
