using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Host.Systemd;

/// <summary>
/// The service side of systemd's notify protocol (sd_notify(3)), written here rather than taken from a package:
/// text datagrams such as <c>READY=1</c> sent to the unix datagram socket named by <c>$NOTIFY_SOCKET</c>
/// (a path, or <c>@name</c> for the abstract namespace). Without <c>$NOTIFY_SOCKET</c> (not started by systemd,
/// or the unit is not <c>Type=notify</c>) every call is a no-op returning false.
/// </summary>
/// <remarks>
/// <para>The watchdog: systemd sets <c>$WATCHDOG_USEC</c> (and <c>$WATCHDOG_PID</c>) when the unit has
/// <c>WatchdogSec=</c>; the service must send <c>WATCHDOG=1</c> within every such interval or be killed and
/// restarted. <see cref="WatchdogPingPeriod"/> is half of it, as sd_watchdog_enabled(3) advises. Ping from the
/// loop whose health it stands for, not from a timer of its own.</para>
/// <para>Thread safety: any thread may call any member; the socket is made at the first send and reused.</para>
/// <para>Errors: an address or watchdog setting that cannot be used throws <see cref="SystemdNotifyException"/> from
/// the constructor (naming the variable); a send that fails throws it from the call.</para>
/// </remarks>
public sealed class SystemdNotifier : IDisposable
{
    public const string SocketVariable = "NOTIFY_SOCKET";
    public const string WatchdogUsecVariable = "WATCHDOG_USEC";
    public const string WatchdogPidVariable = "WATCHDOG_PID";

    private readonly Lock _gate = new();
    private readonly UnixDomainSocketEndPoint? _endPoint;
    private readonly ILogger _log;
    private Socket? _socket;
    private bool _disposed;

    /// <summary>Reads the process's environment.</summary>
    public SystemdNotifier(ILogger? logger = null) : this(Environment.GetEnvironmentVariable, Environment.ProcessId, logger) { }

    /// <summary>
    /// Reads the variables through <paramref name="environment"/> (tests pass their own instead of changing the
    /// process's) and takes <paramref name="processId"/> as this process's id for <c>$WATCHDOG_PID</c>.
    /// </summary>
    /// <exception cref="SystemdNotifyException">A variable is set but unusable; the message names it.</exception>
    public SystemdNotifier(Func<string, string?> environment, int processId, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        _log = logger ?? NullLogger.Instance;
        SocketAddress = environment(SocketVariable) is { Length: > 0 } address ? address : null;
        if (SocketAddress is not null) _endPoint = EndPoint(SocketAddress);
        WatchdogInterval = ReadWatchdog(environment, processId, _log);
        if (SocketAddress is not null) Log.SystemdNotifySocket(_log, SocketAddress, WatchdogInterval);
    }

    /// <summary>True when started by systemd with a notify socket: the calls below send.</summary>
    public bool IsEnabled => _endPoint is not null;

    /// <summary><c>$NOTIFY_SOCKET</c> as given, or null.</summary>
    public string? SocketAddress { get; }

    /// <summary>The watchdog timeout (<c>$WATCHDOG_USEC</c>), or null when there is none for this process.</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>How often to send <see cref="Watchdog"/>: half the timeout, or null when there is no watchdog.</summary>
    public TimeSpan? WatchdogPingPeriod => WatchdogInterval / 2;

    /// <summary><c>READY=1</c>: start-up is complete (with <c>Type=notify</c>, systemd waits for this).</summary>
    public bool Ready(string? status = null) => Notify(status is null ? "READY=1" : "READY=1\nSTATUS=" + OneLine(status));

    /// <summary><c>STATUS=...</c>: a line for <c>systemctl status</c>; line breaks become spaces.</summary>
    public bool Status(string status) => Notify("STATUS=" + OneLine(status));

    /// <summary><c>WATCHDOG=1</c>: still alive. Send every <see cref="WatchdogPingPeriod"/>.</summary>
    public bool Watchdog() => Notify("WATCHDOG=1");

    /// <summary><c>STOPPING=1</c>: shutting down.</summary>
    public bool Stopping(string? status = null) => Notify(status is null ? "STOPPING=1" : "STOPPING=1\nSTATUS=" + OneLine(status));

    /// <summary>
    /// <c>RELOADING=1</c> with <c>MONOTONIC_USEC=</c> (CLOCK_MONOTONIC, which <c>Type=notify-reload</c> requires):
    /// reloading the settings; send <see cref="Ready"/> when done.
    /// </summary>
    public bool Reloading() => Notify("RELOADING=1\nMONOTONIC_USEC=" + MonotonicMicroseconds().ToString(CultureInfo.InvariantCulture));

    /// <summary><c>MAINPID=</c>: the service's main process is <paramref name="processId"/>.</summary>
    public bool MainPid(int processId)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(processId);
        return Notify("MAINPID=" + processId.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Sends <paramref name="state"/> (newline-separated <c>KEY=VALUE</c> assignments) as one datagram.</summary>
    /// <returns>False when there is no notify socket (nothing sent), true when sent.</returns>
    /// <exception cref="ArgumentException">The state is empty or holds a NUL.</exception>
    /// <exception cref="SystemdNotifyException">The datagram could not be sent (no listener at the address, permission).</exception>
    public bool Notify(string state)
    {
        ArgumentException.ThrowIfNullOrEmpty(state);
        if (state.Contains('\0')) throw new ArgumentException("a notification may not contain NUL", nameof(state));
        if (_endPoint is null) return false;
        byte[] datagram = Encoding.UTF8.GetBytes(state);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                _socket ??= new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
                int sent = _socket.SendTo(datagram, SocketFlags.None, _endPoint);
                if (sent != datagram.Length)
                    throw new SystemdNotifyException($"systemd notification to {SocketVariable}={SocketAddress} was cut short ({sent} of {datagram.Length} bytes)");
            }
            catch (SocketException e)
            {
                throw new SystemdNotifyException($"cannot notify systemd at {SocketVariable}={SocketAddress}: {e.Message} ({e.SocketErrorCode})", e);
            }
        }
        return true;
    }

    /// <summary>The address as an end point: a path as is, a leading '@' as the abstract namespace (a leading NUL).</summary>
    private static UnixDomainSocketEndPoint EndPoint(string address)
    {
        if (address[0] != '/' && address[0] != '@')
            throw new SystemdNotifyException(
                $"{SocketVariable} is '{address}'; only a unix socket path (/...) or an abstract name (@...) is supported");
        if (address.Length == 1)
            throw new SystemdNotifyException($"{SocketVariable} is '{address}', which names no socket");
        string path = address[0] == '@' ? "\0" + address[1..] : address;
        try
        {
            return new UnixDomainSocketEndPoint(path);
        }
        catch (ArgumentException e)
        {
            throw new SystemdNotifyException($"{SocketVariable} is '{address}', which is not a usable unix socket address: {e.Message}");
        }
    }

    private static TimeSpan? ReadWatchdog(Func<string, string?> environment, int processId, ILogger log)
    {
        string? usec = environment(WatchdogUsecVariable);
        if (string.IsNullOrEmpty(usec)) return null;
        if (!ulong.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out ulong microseconds) || microseconds == 0
            || microseconds > (ulong)(TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMicrosecond))
            throw new SystemdNotifyException($"{WatchdogUsecVariable} is '{usec}'; it must be a positive whole number of microseconds");
        if (environment(WatchdogPidVariable) is { Length: > 0 } pidText)
        {
            if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid <= 0)
                throw new SystemdNotifyException($"{WatchdogPidVariable} is '{pidText}'; it must be a process id");
            if (pid != processId)
            {
                // The watchdog was set for another process (we were started by the service's main process, say).
                Log.SystemdWatchdogForOtherProcess(log, pid, processId);
                return null;
            }
        }
        return TimeSpan.FromMicroseconds(microseconds);
    }

    private static string OneLine(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.ReplaceLineEndings(" ");
    }

    /// <summary>CLOCK_MONOTONIC in microseconds: .NET's Stopwatch reads that clock on Linux.</summary>
    private static long MonotonicMicroseconds() =>
        (long)((Int128)Stopwatch.GetTimestamp() * 1_000_000 / Stopwatch.Frequency);

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _socket?.Dispose();
        }
    }
}

/// <summary>
/// The systemd notify protocol cannot be used: <c>$NOTIFY_SOCKET</c>, <c>$WATCHDOG_USEC</c> or <c>$WATCHDOG_PID</c>
/// is malformed (the message names it), or a notification could not be sent.
/// </summary>
public sealed class SystemdNotifyException : Exception
{
    public SystemdNotifyException(string message) : base(message) { }
    public SystemdNotifyException(string message, Exception inner) : base(message, inner) { }
}
