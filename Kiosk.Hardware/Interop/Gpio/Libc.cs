using System.Runtime.InteropServices;

namespace Kiosk.Hardware.Interop.Gpio;

/// <summary>
/// The few libc calls the GPIO character device needs (glibc; the runtime maps "libc" to the platform's libc.so.6).
/// Constants are Linux's for x86-64 and arm64, which share <c>asm-generic</c> values for every one used here.
/// </summary>
/// <remarks>
/// C <c>unsigned long</c> and <c>size_t</c> are <see cref="nuint"/> and <c>ssize_t</c> is <see cref="nint"/> (LP64).
/// Every call sets errno; read it with <see cref="Marshal.GetLastPInvokeError"/> right after the call.
/// File descriptors are passed as plain <c>int</c>: callers hold the owning SafeHandle's reference count
/// (<see cref="FileDescriptorHandle.Lease"/>) for the duration of the call.
/// </remarks>
internal static unsafe partial class Libc
{
    private const string LibraryName = "libc";

    // <asm-generic/fcntl.h>
    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;    // 00004000
    public const int O_CLOEXEC = 0x80000;   // 02000000

    // <sys/eventfd.h>
    public const int EFD_NONBLOCK = O_NONBLOCK;
    public const int EFD_CLOEXEC = O_CLOEXEC;

    // <asm-generic/poll.h>
    public const short POLLIN = 0x001;
    public const short POLLERR = 0x008;
    public const short POLLHUP = 0x010;
    public const short POLLNVAL = 0x020;

    // <asm-generic/errno-base.h>
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EIO = 5;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;

    /// <summary><c>struct pollfd</c>.</summary>
#pragma warning disable CS8981 // C names kept for raw declarations
    [StructLayout(LayoutKind.Sequential)]
    public struct pollfd
    {
        public int fd;
        public short events;
        public short revents;
    }
#pragma warning restore CS8981

    /// <summary><c>int open(const char *pathname, int flags)</c> (no O_CREAT, so no mode).</summary>
    [LibraryImport(LibraryName, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string pathname, int flags);

    /// <summary><c>int ioctl(int fd, unsigned long request, void *argp)</c>.</summary>
    /// <param name="argp">the struct named by the request's ioctl number, in and/or out</param>
    [LibraryImport(LibraryName, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int ioctl(int fd, nuint request, void* argp);

    /// <summary><c>ssize_t read(int fd, void *buf, size_t count)</c>.</summary>
    [LibraryImport(LibraryName, EntryPoint = "read", SetLastError = true)]
    public static partial nint read(int fd, void* buf, nuint count);

    /// <summary><c>ssize_t write(int fd, const void *buf, size_t count)</c>.</summary>
    [LibraryImport(LibraryName, EntryPoint = "write", SetLastError = true)]
    public static partial nint write(int fd, void* buf, nuint count);

    /// <summary><c>int poll(struct pollfd *fds, nfds_t nfds, int timeout)</c>; nfds_t is unsigned long.</summary>
    [LibraryImport(LibraryName, EntryPoint = "poll", SetLastError = true)]
    public static partial int poll(pollfd* fds, nuint nfds, int timeout);

    /// <summary><c>int close(int fd)</c>.</summary>
    [LibraryImport(LibraryName, EntryPoint = "close", SetLastError = true)]
    public static partial int close(int fd);

    /// <summary><c>int eventfd(unsigned int initval, int flags)</c>.</summary>
    [LibraryImport(LibraryName, EntryPoint = "eventfd", SetLastError = true)]
    public static partial int eventfd(uint initval, int flags);

    /// <summary><c>int pipe2(int pipefd[2], int flags)</c>; used by tests to feed the event loop.</summary>
    [LibraryImport(LibraryName, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int pipe2(int* pipefd, int flags);

    /// <summary>errno's text, e.g. "No such file or directory".</summary>
    public static string StrError(int errno) => Marshal.GetPInvokeErrorMessage(errno);
}
