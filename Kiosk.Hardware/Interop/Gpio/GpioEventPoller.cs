using System.Runtime.InteropServices;
using Kiosk.Hardware.Gpio;
using Microsoft.Extensions.Logging;

namespace Kiosk.Hardware.Interop.Gpio;

/// <summary>
/// The edge-event thread: blocks in poll() on every registered line request plus an eventfd that wakes it for a
/// change of registrations or for stopping. Events are delivered on this thread, in the kernel's order per line.
/// </summary>
/// <remarks>
/// Descriptor lifetime: while a poll round runs, the thread holds a reference on each polled request's SafeHandle,
/// so a request disposed meanwhile is closed only when the round ends (on this thread), never while poll() or
/// read() still uses its number. <see cref="DisposeAsync"/> stops the thread and waits for it to exit.
/// </remarks>
internal sealed class GpioEventPoller : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<Registration> _registrations = [];
    private readonly EventFdHandle _wake;
    private readonly Thread _thread;
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _name;
    private readonly ILogger _logger;
    private volatile bool _stopping;

    public GpioEventPoller(string name, ILogger logger)
    {
        _name = name;
        _logger = logger;
        int fd = Libc.eventfd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (fd < 0)
            throw new GpioException($"eventfd() for the edge-event thread of {name} failed", Marshal.GetLastPInvokeError(), name, []);
        _wake = new EventFdHandle(fd);
        _thread = new Thread(Run) { IsBackground = true, Name = "gpio-events" };
        _thread.Start();
    }

    /// <summary>The event thread's managed id (tests check where events arrive).</summary>
    public int ThreadId => _thread.ManagedThreadId;

    /// <summary>Requests polled from the next round on (a hung-up one is dropped by the thread).</summary>
    public int RegistrationCount
    {
        get
        {
            lock (_gate)
                return _registrations.Count;
        }
    }

    /// <summary>True once the thread has exited.</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Polls <paramref name="request"/> from the next round on; dispose the result to stop (before closing the request).</summary>
    public IDisposable Register(GpioLineRequest request, Action<GpioLineEvent> sink)
    {
        var registration = new Registration(this, request, sink);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            _registrations.Add(registration);
            Wake();
        }
        return registration;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (!_stopping)
            {
                _stopping = true;
                Wake();
            }
        }
        // From the event thread itself (a handler disposing the driver) there is nothing to wait for: the thread
        // leaves its loop when the handler returns.
        if (Environment.CurrentManagedThreadId != _thread.ManagedThreadId)
        {
            await _exited.Task.ConfigureAwait(false);
            _thread.Join();
        }
        _wake.Dispose();
    }

    private void Unregister(Registration registration)
    {
        registration.MarkRemoved();
        lock (_gate)
        {
            // Under the lock: once _stopping is set the eventfd may be closed, so no wake-up after that.
            if (_registrations.Remove(registration) && !_stopping)
                Wake();
        }
    }

    /// <summary>Called under <see cref="_gate"/>, while the eventfd is certainly open.</summary>
    private unsafe void Wake()
    {
        ulong one = 1;
        using var lease = _wake.Lease();
        // EAGAIN would mean the counter is saturated, i.e. a wake-up is already pending: nothing to do.
        _ = Libc.write(lease.Fd, &one, sizeof(ulong));
    }

    private void Run()
    {
        var fds = new Libc.pollfd[8];
        var polled = new List<Registration>();
        var events = new gpio_v2_line_event[GpioLineRequest.EventBatch];
        try
        {
            using var wakeLease = _wake.Lease();
            while (!_stopping)
            {
                polled.Clear();
                lock (_gate)
                {
                    // A registration still listed has not been disposed yet (Dispose unregisters before it closes
                    // the request), so its handle can still take a reference.
                    foreach (var registration in _registrations)
                    {
                        bool added = false;
                        registration.Request.Handle.DangerousAddRef(ref added);
                        polled.Add(registration);
                    }
                }
                try
                {
                    PollOnce(wakeLease.Fd, polled, ref fds, events);
                }
                finally
                {
                    foreach (var registration in polled)
                        registration.Request.Handle.DangerousRelease();
                }
            }
        }
        catch (Exception ex)
        {
            // Only a failing poll() or read() gets here: the inputs go deaf, which the door must not hide.
            Log.GpioEventThreadFailed(_logger, ex, _name);
        }
        finally
        {
            _exited.TrySetResult();
        }
    }

    private unsafe void PollOnce(int wakeFd, List<Registration> polled, ref Libc.pollfd[] fds, gpio_v2_line_event[] events)
    {
        int count = polled.Count + 1;
        if (fds.Length < count)
            fds = new Libc.pollfd[count * 2];
        fds[0] = new Libc.pollfd { fd = wakeFd, events = Libc.POLLIN };
        for (int i = 0; i < polled.Count; i++)
            fds[i + 1] = new Libc.pollfd { fd = (int)polled[i].Request.Handle.DangerousGetHandle(), events = Libc.POLLIN };

        int ready;
        fixed (Libc.pollfd* p = fds)
            ready = Libc.poll(p, (nuint)count, -1);
        if (ready < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            if (errno == Libc.EINTR)
                return;
            throw new GpioException($"poll() on the edge events of {_name} failed", errno, _name, polled.ConvertAll(r => r.Request.Line));
        }

        if ((fds[0].revents & Libc.POLLIN) != 0)
        {
            ulong counter;
            _ = Libc.read(wakeFd, &counter, sizeof(ulong)); // resets the eventfd; EAGAIN if another round drained it
        }

        for (int i = 0; i < polled.Count; i++)
        {
            short revents = fds[i + 1].revents;
            if (revents == 0)
                continue;
            var registration = polled[i];
            int read = 0;
            if ((revents & Libc.POLLIN) != 0)
            {
                int errno;
                fixed (gpio_v2_line_event* buffer = events)
                    read = GpioLineRequest.ReadEvents(fds[i + 1].fd, buffer, events.Length, out errno);
                if (read < 0)
                {
                    Log.GpioLineDropped(_logger, registration.Request.Line, _name, $"read() failed: {Libc.StrError(errno)} (errno {errno})");
                    Unregister(registration);
                    continue;
                }
                for (int e = 0; e < read && !registration.IsRemoved; e++)
                    registration.Deliver(GpioLineRequest.Decode(events[e]));
            }
            if (read == 0 && (revents & (Libc.POLLERR | Libc.POLLHUP | Libc.POLLNVAL)) != 0)
            {
                // Not readable and in error or hung up: polling it again would spin.
                Log.GpioLineDropped(_logger, registration.Request.Line, _name, $"poll() reported revents 0x{revents:x}");
                Unregister(registration);
            }
        }
    }

    private sealed class Registration(GpioEventPoller owner, GpioLineRequest request, Action<GpioLineEvent> sink) : IDisposable
    {
        private volatile bool _removed;

        public GpioLineRequest Request { get; } = request;

        public bool IsRemoved => _removed;

        public void Deliver(GpioLineEvent e)
        {
            try
            {
                sink(e);
            }
            catch (Exception ex)
            {
                Log.GpioEdgeHandlerFailed(owner._logger, ex, Request.Line, owner._name);
            }
        }

        public void MarkRemoved() => _removed = true;

        public void Dispose() => owner.Unregister(this);
    }
}
