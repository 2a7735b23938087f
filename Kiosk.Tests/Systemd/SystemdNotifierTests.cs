using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Kiosk.Host.Systemd;

namespace Kiosk.Tests.Systemd;

/// <summary>A unix datagram socket standing in for systemd's notify socket: bound to a path or an abstract name.</summary>
internal sealed class FakeNotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly string? _dir;

    /// <summary>What NOTIFY_SOCKET would say: the path, or '@' and the abstract name.</summary>
    public string Address { get; }

    public FakeNotifySocket(bool abstractNamespace = false)
    {
        if (abstractNamespace)
        {
            string name = "kiosk-test-" + Guid.NewGuid().ToString("N");
            _socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
            Address = "@" + name;
        }
        else
        {
            _dir = Directory.CreateTempSubdirectory("kiosk-notify").FullName;
            Address = Path.Combine(_dir, "notify.sock");
            _socket.Bind(new UnixDomainSocketEndPoint(Address));
        }
        _socket.ReceiveTimeout = 5000;
    }

    /// <summary>The next datagram as text; a SocketException (timed out) when none comes within 5 s.</summary>
    public string Receive()
    {
        var buffer = new byte[4096];
        int n = _socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    /// <summary>True when a datagram is waiting (nothing is read).</summary>
    public bool HasPending => _socket.Available > 0 || _socket.Poll(50_000, SelectMode.SelectRead);

    public void Dispose()
    {
        _socket.Dispose();
        if (_dir is not null) Directory.Delete(_dir, recursive: true);
    }
}

public sealed partial class SystemdNotifierTests
{
    private const int OurPid = 4242;

    private static SystemdNotifier Notifier(params (string Name, string Value)[] variables)
    {
        var env = variables.ToDictionary(v => v.Name, v => v.Value);
        return new SystemdNotifier(name => env.GetValueOrDefault(name), OurPid);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Each_message_arrives_as_one_datagram_exactly_as_the_protocol_spells_it(bool abstractNamespace)
    {
        using var systemd = new FakeNotifySocket(abstractNamespace);
        using var notifier = Notifier(("NOTIFY_SOCKET", systemd.Address));
        Assert.True(notifier.IsEnabled);

        Assert.True(notifier.Ready());
        Assert.Equal("READY=1", systemd.Receive());
        Assert.True(notifier.Status("gallery: 120 people"));
        Assert.Equal("STATUS=gallery: 120 people", systemd.Receive());
        Assert.True(notifier.Watchdog());
        Assert.Equal("WATCHDOG=1", systemd.Receive());
        Assert.True(notifier.Ready("running"));
        Assert.Equal("READY=1\nSTATUS=running", systemd.Receive());
        Assert.True(notifier.MainPid(1234));
        Assert.Equal("MAINPID=1234", systemd.Receive());
        Assert.True(notifier.Stopping());
        Assert.Equal("STOPPING=1", systemd.Receive());
        Assert.True(notifier.Stopping("camera lost"));
        Assert.Equal("STOPPING=1\nSTATUS=camera lost", systemd.Receive());
        Assert.False(systemd.HasPending);
    }

    [Fact]
    public void A_status_with_line_breaks_stays_one_assignment()
    {
        using var systemd = new FakeNotifySocket();
        using var notifier = Notifier(("NOTIFY_SOCKET", systemd.Address));
        notifier.Status("camera failed:\nENODEV\r\nretrying");
        Assert.Equal("STATUS=camera failed: ENODEV retrying", systemd.Receive());
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public nint Seconds;
        public nint Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out Timespec time);

    private static long MonotonicMicroseconds()
    {
        const int ClockMonotonic = 1;
        Assert.Equal(0, ClockGetTime(ClockMonotonic, out var t));
        return (long)t.Seconds * 1_000_000 + (long)t.Nanoseconds / 1000;
    }

    [Fact]
    public void Reloading_carries_the_CLOCK_MONOTONIC_time_that_notify_reload_requires()
    {
        using var systemd = new FakeNotifySocket();
        using var notifier = Notifier(("NOTIFY_SOCKET", systemd.Address));
        long before = MonotonicMicroseconds();
        Assert.True(notifier.Reloading());
        long after = MonotonicMicroseconds();
        string[] lines = systemd.Receive().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal("RELOADING=1", lines[0]);
        Assert.StartsWith("MONOTONIC_USEC=", lines[1]);
        long sent = long.Parse(lines[1]["MONOTONIC_USEC=".Length..], NumberStyles.None, CultureInfo.InvariantCulture);
        Assert.InRange(sent, before, after);
    }

    [Fact]
    public void Without_NOTIFY_SOCKET_every_call_is_a_no_op()
    {
        foreach (var notifier in new[] { Notifier(), Notifier(("NOTIFY_SOCKET", "")) })
        {
            using (notifier)
            {
                Assert.False(notifier.IsEnabled);
                Assert.Null(notifier.SocketAddress);
                Assert.False(notifier.Ready());
                Assert.False(notifier.Status("x"));
                Assert.False(notifier.Watchdog());
                Assert.False(notifier.Reloading());
                Assert.False(notifier.Stopping());
                Assert.False(notifier.MainPid(1));
            }
        }
    }

    [Theory]
    [InlineData("vsock:2:1234")]
    [InlineData("relative/notify.sock")]
    [InlineData("@")]
    public void An_unusable_NOTIFY_SOCKET_is_refused_naming_it(string address)
    {
        var e = Assert.Throws<SystemdNotifyException>(() => Notifier(("NOTIFY_SOCKET", address)));
        Assert.Contains("NOTIFY_SOCKET", e.Message);
    }

    [Fact]
    public void A_path_too_long_for_a_unix_socket_is_refused_naming_NOTIFY_SOCKET()
    {
        var e = Assert.Throws<SystemdNotifyException>(() => Notifier(("NOTIFY_SOCKET", "/" + new string('s', 200))));
        Assert.Contains("NOTIFY_SOCKET", e.Message);
    }

    [Fact]
    public void A_send_nobody_receives_is_a_typed_error_naming_the_address()
    {
        string dir = Directory.CreateTempSubdirectory("kiosk-notify").FullName;
        try
        {
            string missing = Path.Combine(dir, "gone.sock");
            using var notifier = Notifier(("NOTIFY_SOCKET", missing));
            var e = Assert.Throws<SystemdNotifyException>(() => notifier.Ready());
            Assert.Contains(missing, e.Message);
            Assert.IsType<SocketException>(e.InnerException);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_disposed_notifier_refuses_to_send()
    {
        using var systemd = new FakeNotifySocket();
        var notifier = Notifier(("NOTIFY_SOCKET", systemd.Address));
        notifier.Dispose();
        Assert.Throws<ObjectDisposedException>(() => notifier.Watchdog());
    }

    [Fact]
    public void The_watchdog_interval_is_WATCHDOG_USEC_and_the_ping_period_half_of_it()
    {
        using var n = Notifier(("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", OurPid.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(TimeSpan.FromSeconds(30), n.WatchdogInterval);
        Assert.Equal(TimeSpan.FromSeconds(15), n.WatchdogPingPeriod);

        using var odd = Notifier(("WATCHDOG_USEC", "1500001"));   // no WATCHDOG_PID: it is ours
        Assert.Equal(TimeSpan.FromMicroseconds(1_500_001), odd.WatchdogInterval);
        Assert.Equal(TimeSpan.FromMicroseconds(750_000.5), odd.WatchdogPingPeriod);
    }

    [Fact]
    public void A_watchdog_set_for_another_process_does_not_apply()
    {
        using var n = Notifier(("WATCHDOG_USEC", "30000000"), ("WATCHDOG_PID", "1"));
        Assert.Null(n.WatchdogInterval);
        Assert.Null(n.WatchdogPingPeriod);
    }

    [Fact]
    public void Without_WATCHDOG_USEC_there_is_no_watchdog()
    {
        using var n = Notifier(("WATCHDOG_PID", OurPid.ToString(CultureInfo.InvariantCulture)));
        Assert.Null(n.WatchdogInterval);
        Assert.Null(n.WatchdogPingPeriod);
    }

    [Theory]
    [InlineData("WATCHDOG_USEC", "abc", "WATCHDOG_USEC")]
    [InlineData("WATCHDOG_USEC", "0", "WATCHDOG_USEC")]
    [InlineData("WATCHDOG_USEC", "-5", "WATCHDOG_USEC")]
    [InlineData("WATCHDOG_USEC", "99999999999999999999", "WATCHDOG_USEC")]
    [InlineData("WATCHDOG_PID", "init", "WATCHDOG_PID")]
    [InlineData("WATCHDOG_PID", "0", "WATCHDOG_PID")]
    public void A_malformed_watchdog_variable_is_refused_naming_it(string name, string value, string named)
    {
        var variables = new List<(string, string)> { ("WATCHDOG_USEC", "1000000"), ("WATCHDOG_PID", OurPid.ToString(CultureInfo.InvariantCulture)) };
        variables.RemoveAll(v => v.Item1 == name);
        variables.Add((name, value));
        var e = Assert.Throws<SystemdNotifyException>(() => Notifier([.. variables]));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void The_parameterless_constructor_reads_the_process_environment_and_pid()
    {
        // Only reads: nothing here sets process-wide state. Under `systemctl` or a test runner started by systemd
        // the socket may be set; either way the notifier must agree with the environment.
        using var n = new SystemdNotifier();
        Assert.Equal(Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is { Length: > 0 }, n.IsEnabled);
    }
}
