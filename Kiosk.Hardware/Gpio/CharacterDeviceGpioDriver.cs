using Kiosk.Hardware.Interop.Gpio;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Hardware.Gpio;

/// <summary>
/// The kernel's GPIO character device (<c>/dev/gpiochipN</c>, uAPI v2, Linux 5.10 or later), with no library
/// between: one line request per line, edges read by a dedicated thread blocked in poll().
/// </summary>
/// <remarks>
/// <para>Construction opens the chip and fails with a <see cref="GpioException"/> that says what is there instead,
/// e.g. "GPIO chip /dev/gpiochip9 not found; chips here: /dev/gpiochip0 (pinctrl-bcm2711, 58 lines)".</para>
/// <para>Line release: when a request is closed (Dispose, or the kernel closing it because the process died), what
/// the pin does is up to the chip's driver: some keep the last driven level, some return the pin to an input.
/// Wire outputs so that both are safe; see Kiosk.Hardware/README.md.</para>
/// </remarks>
public sealed class CharacterDeviceGpioDriver : IGpioDriver
{
    private readonly GpioChipFile _chip;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, IDisposable> _lines = [];
    private GpioEventPoller? _poller;
    private bool _disposed;

    /// <exception cref="GpioException">the chip is missing, inaccessible or not a GPIO chip</exception>
    public CharacterDeviceGpioDriver(string chipPath, ILogger<CharacterDeviceGpioDriver>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(chipPath);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _chip = GpioChipFile.Open(chipPath);
        Log.GpioChipOpened(_logger, chipPath, _chip.Name, _chip.Label, _chip.LineCount);
    }

    public string ChipPath => _chip.Path;

    /// <summary>The kernel's name of the chip, e.g. <c>gpiochip0</c>.</summary>
    public string ChipName => _chip.Name;

    /// <summary>The chip driver's label, e.g. <c>pinctrl-bcm2711</c>.</summary>
    public string ChipLabel => _chip.Label;

    public int LineCount => _chip.LineCount;

    public IGpioOutput OpenOutput(int line, bool activeLow, bool initialActive, string consumer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        lock (_gate)
        {
            ThrowIfUnavailable(line);
            var request = _chip.RequestOutput(line, activeLow, initialActive, consumer);
            var output = new Output(this, request, initialActive);
            _lines.Add(line, output);
            Log.GpioLineRequested(_logger, ChipPath, line, "output", consumer);
            return output;
        }
    }

    public IGpioInput OpenInput(int line, bool activeLow, GpioBias bias, TimeSpan debounce, string consumer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        ArgumentOutOfRangeException.ThrowIfLessThan(debounce, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(debounce, TimeSpan.FromMicroseconds(uint.MaxValue));
        lock (_gate)
        {
            ThrowIfUnavailable(line);
            var request = _chip.RequestInput(line, activeLow, bias, debounce, consumer);
            try
            {
                _poller ??= new GpioEventPoller(ChipPath, _logger);
                var input = new Input(this, request);
                input.Subscription = _poller.Register(request, input.OnEvent);
                _lines.Add(line, input);
                Log.GpioLineRequested(_logger, ChipPath, line, "input", consumer);
                return input;
            }
            catch
            {
                request.Dispose();
                throw;
            }
        }
    }

    /// <summary>Stops the edge thread and waits for it, then releases every line still requested and the chip.</summary>
    public async ValueTask DisposeAsync()
    {
        GpioEventPoller? poller;
        IDisposable[] lines;
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            poller = _poller;
            lines = [.. _lines.Values];
        }
        if (poller is not null)
            await poller.DisposeAsync().ConfigureAwait(false);
        foreach (var line in lines)
            line.Dispose();
        _chip.Dispose();
    }

    private void ThrowIfUnavailable(int line)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (line < 0 || line >= _chip.LineCount)
        {
            throw new GpioException($"line {line} requested but {_chip.Description} has {_chip.LineCount} lines (0..{_chip.LineCount - 1})",
                Interop.Gpio.Libc.EINVAL, ChipPath, [line]);
        }
        if (_lines.ContainsKey(line))
            throw new GpioException($"line {line} of {_chip.Description} is busy: already requested by this process", Interop.Gpio.Libc.EBUSY, ChipPath, [line]);
    }

    private void Forget(int line, IDisposable owner)
    {
        lock (_gate)
        {
            if (_lines.TryGetValue(line, out var current) && ReferenceEquals(current, owner))
                _lines.Remove(line);
        }
        Log.GpioLineReleased(_logger, ChipPath, line);
    }

    private sealed class Output(CharacterDeviceGpioDriver driver, GpioLineRequest request, bool initialActive) : IGpioOutput
    {
        private readonly Lock _gate = new();
        private bool _active = initialActive;
        private int _disposed;

        public int Line => request.Line;

        public bool IsActive
        {
            get
            {
                lock (_gate)
                    return _active;
            }
        }

        public void Set(bool active)
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(request.IsClosed, this);
                request.SetValue(active);
                _active = active;
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            request.Dispose();
            driver.Forget(Line, this);
        }
    }

    private sealed class Input(CharacterDeviceGpioDriver driver, GpioLineRequest request) : IGpioInput
    {
        private int _disposed;

        public IDisposable? Subscription { get; set; }

        public int Line => request.Line;

        public bool IsActive
        {
            get
            {
                ObjectDisposedException.ThrowIf(request.IsClosed, this);
                return request.GetValue();
            }
        }

        public event Action<GpioEdge>? Changed;

        /// <summary>On the event thread; the poller logs a handler's exception.</summary>
        public void OnEvent(GpioLineEvent e)
        {
            if (Volatile.Read(ref _disposed) == 0)
                Changed?.Invoke(new GpioEdge(e.Rising, e.TimestampNs));
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            Subscription?.Dispose();   // stop polling first: the close below is then deferred past any poll round
            request.Dispose();
            driver.Forget(Line, this);
        }
    }
}
