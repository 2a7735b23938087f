using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Kiosk.Hardware.Interop.Gpio;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Tests.Hardware;

/// <summary>
/// The real driver's edge thread, fed through a pipe: the kernel's line request fd is a readable fd yielding
/// whole struct gpio_v2_line_event records, which a pipe reproduces byte for byte.
/// </summary>
public sealed class GpioEventPollerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Events_written_to_a_polled_fd_arrive_decoded_on_the_event_thread()
    {
        using var pipe = Pipe.Create();
        await using var poller = new GpioEventPoller("test-pipe", NullLogger.Instance);
        var received = new BlockingCollection<(GpioLineEvent Event, int ThreadId)>();
        using var request = new GpioLineRequest(pipe.ReadEnd, "test-pipe", 17);
        using var registration = poller.Register(request, e => received.Add((e, Environment.CurrentManagedThreadId)));

        pipe.Send(Event(offset: 17, rising: true, timestampNs: 1_000_000_123, seqno: 1),
                   Event(offset: 17, rising: false, timestampNs: 1_050_000_456, seqno: 2));

        Assert.True(received.TryTake(out var first, Patience), "no event within 10 s");
        Assert.True(received.TryTake(out var second, Patience), "no second event within 10 s");
        Assert.Equal(new GpioLineEvent(17, true, 1_000_000_123, 1, 1), first.Event);
        Assert.Equal(new GpioLineEvent(17, false, 1_050_000_456, 2, 2), second.Event);
        Assert.Equal(poller.ThreadId, first.ThreadId);
        Assert.NotEqual(Environment.CurrentManagedThreadId, first.ThreadId);
    }

    [Fact]
    public async Task Dispose_wakes_the_blocked_poll_and_waits_for_the_thread_to_exit()
    {
        using var pipe = Pipe.Create();
        var poller = new GpioEventPoller("test-pipe", NullLogger.Instance);
        using var request = new GpioLineRequest(pipe.ReadEnd, "test-pipe", 3);
        poller.Register(request, _ => { });

        Assert.False(poller.HasExited);
        var dispose = poller.DisposeAsync().AsTask();
        Assert.Same(dispose, await Task.WhenAny(dispose, Task.Delay(Patience)));
        await dispose;
        Assert.True(poller.HasExited);
        Assert.False(request.IsClosed); // the poller never owned the request
    }

    [Fact]
    public async Task A_hung_up_fd_is_dropped_instead_of_spun_on_and_the_others_keep_working()
    {
        using var dead = Pipe.Create();
        using var live = Pipe.Create();
        await using var poller = new GpioEventPoller("test-pipe", NullLogger.Instance);
        var received = new BlockingCollection<GpioLineEvent>();
        using var deadRequest = new GpioLineRequest(dead.ReadEnd, "test-pipe", 1);
        using var liveRequest = new GpioLineRequest(live.ReadEnd, "test-pipe", 2);
        poller.Register(deadRequest, received.Add);
        poller.Register(liveRequest, received.Add);

        dead.WriteEnd.Dispose(); // POLLHUP from now on, forever

        live.Send(Event(offset: 2, rising: true, timestampNs: 5, seqno: 1));
        Assert.True(received.TryTake(out var e, Patience));
        Assert.Equal(2, e.Line);
        var deadline = DateTime.UtcNow + Patience;
        while (poller.RegistrationCount != 1 && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        Assert.Equal(1, poller.RegistrationCount); // the hung-up pipe left the poll set
        Assert.False(poller.HasExited);
    }

    [Fact]
    public async Task A_handler_that_throws_does_not_stop_the_thread()
    {
        using var pipe = Pipe.Create();
        await using var poller = new GpioEventPoller("test-pipe", NullLogger.Instance);
        var received = new BlockingCollection<GpioLineEvent>();
        using var request = new GpioLineRequest(pipe.ReadEnd, "test-pipe", 4);
        poller.Register(request, e =>
        {
            received.Add(e);
            if (e.Seqno == 1)
                throw new InvalidOperationException("handler bug");
        });

        pipe.Send(Event(4, true, 10, 1));
        Assert.True(received.TryTake(out _, Patience));
        pipe.Send(Event(4, false, 20, 2));
        Assert.True(received.TryTake(out var second, Patience));
        Assert.Equal(2u, second.Seqno);
    }

    [Fact]
    public async Task An_unregistered_fd_can_be_closed_while_the_thread_polls_the_others()
    {
        using var keep = Pipe.Create();
        var gone = Pipe.Create();
        await using var poller = new GpioEventPoller("test-pipe", NullLogger.Instance);
        var received = new BlockingCollection<GpioLineEvent>();
        using var keepRequest = new GpioLineRequest(keep.ReadEnd, "test-pipe", 1);
        var goneRequest = new GpioLineRequest(gone.ReadEnd, "test-pipe", 2);
        var registration = poller.Register(goneRequest, received.Add);
        poller.Register(keepRequest, received.Add);

        registration.Dispose();
        goneRequest.Dispose();
        gone.Dispose();

        keep.Send(Event(1, true, 1, 1));
        Assert.True(received.TryTake(out var e, Patience));
        Assert.Equal(1, e.Line);
    }

    private static gpio_v2_line_event Event(int offset, bool rising, long timestampNs, uint seqno) => new()
    {
        timestamp_ns = (ulong)timestampNs,
        id = rising ? GpioUapi.GPIO_V2_LINE_EVENT_RISING_EDGE : GpioUapi.GPIO_V2_LINE_EVENT_FALLING_EDGE,
        offset = (uint)offset,
        seqno = seqno,
        line_seqno = seqno,
    };

    private sealed unsafe class Pipe : IDisposable
    {
        private Pipe(PipeEndHandle read, PipeEndHandle write)
        {
            ReadEnd = read;
            WriteEnd = write;
        }

        public PipeEndHandle ReadEnd { get; }

        public PipeEndHandle WriteEnd { get; }

        public static Pipe Create()
        {
            int* fds = stackalloc int[2];
            if (Libc.pipe2(fds, Libc.O_CLOEXEC | Libc.O_NONBLOCK) != 0)
                throw new IOException($"pipe2: {Libc.StrError(Marshal.GetLastPInvokeError())}");
            return new Pipe(new PipeEndHandle(fds[0]), new PipeEndHandle(fds[1]));
        }

        /// <summary>Writes whole events in one write(2): atomic, as they are far below PIPE_BUF.</summary>
        public void Send(params gpio_v2_line_event[] events)
        {
            using var lease = WriteEnd.Lease();
            fixed (gpio_v2_line_event* p = events)
            {
                nuint size = (nuint)(events.Length * sizeof(gpio_v2_line_event));
                Assert.Equal((nint)size, Libc.write(lease.Fd, p, size));
            }
        }

        public void Dispose()
        {
            ReadEnd.Dispose();
            WriteEnd.Dispose();
        }
    }
}
