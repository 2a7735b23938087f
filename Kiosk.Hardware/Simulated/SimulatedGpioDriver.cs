using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Interop.Gpio;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Hardware.Simulated;

/// <summary>A value written to a simulated output: the request's initial value or a <see cref="IGpioOutput.Set"/>.</summary>
/// <param name="Timestamp">the driver's <see cref="TimeProvider"/> at the write</param>
/// <param name="High">the physical level (Active, inverted for an active-low line)</param>
/// <param name="IsRequest">true for the value the line was requested with</param>
public readonly record struct GpioChange(DateTimeOffset Timestamp, int Line, string Consumer, bool Active, bool High, bool IsRequest);

/// <summary>
/// <see cref="IGpioDriver"/> in memory, over a <see cref="SimulatedGpioChip"/>: the same validation as the kernel
/// (line range, EBUSY on a second request), every output write recorded in <see cref="Changes"/> with a timestamp
/// from the injected <see cref="TimeProvider"/>, inputs driven by <see cref="Press"/>, <see cref="Release"/> and
/// <see cref="SetInput"/>, debounce applied on the TimeProvider's clock like the kernel's (an edge is reported once
/// the line has been stable for the period). One driver stands for one process holding the chip.
/// </summary>
/// <remarks>
/// Thread safety: any member from any thread. Edges are raised on the thread that changed the input, or, with a
/// debounce, on the thread running the TimeProvider's timer (the one calling Advance for a fake clock); never
/// under the chip's lock.
/// </remarks>
public sealed class SimulatedGpioDriver : IGpioDriver
{
    private readonly SimulatedGpioChip _chip;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly List<GpioChange> _changes = [];
    private readonly Dictionary<int, Input> _inputs = [];
    private readonly Dictionary<int, Output> _outputs = [];
    private bool _disposed;
    private bool _crashed;

    public SimulatedGpioDriver(SimulatedGpioChip chip, TimeProvider? timeProvider = null, ILogger<SimulatedGpioDriver>? logger = null)
    {
        _chip = chip ?? throw new ArgumentNullException(nameof(chip));
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public SimulatedGpioChip Chip => _chip;

    public string ChipPath => _chip.Path;

    /// <summary>Every value written to this driver's outputs, oldest first (a copy).</summary>
    public IReadOnlyList<GpioChange> Changes
    {
        get
        {
            lock (_chip.Gate)
                return [.. _changes];
        }
    }

    public IGpioOutput OpenOutput(int line, bool activeLow, bool initialActive, string consumer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        var at = _time.GetUtcNow(); // outside the chip's lock: a fake clock may run timer callbacks in here
        lock (_chip.Gate)
        {
            var state = Claim(line, consumer);
            state.IsOutput = true;
            state.OutputHigh = initialActive != activeLow;
            var output = new Output(this, line, activeLow, consumer, initialActive);
            _outputs.Add(line, output);
            RecordLocked(at, line, consumer, initialActive, state.OutputHigh, isRequest: true);
            _chip.SaveLocked();
            return output;
        }
    }

    public IGpioInput OpenInput(int line, bool activeLow, GpioBias bias, TimeSpan debounce, string consumer)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(consumer);
        ArgumentOutOfRangeException.ThrowIfLessThan(debounce, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(debounce, TimeSpan.FromMicroseconds(uint.MaxValue));
        // The debounce timer is made outside the chip's lock: a fake clock may run timer callbacks in CreateTimer.
        var input = new Input(this, line, activeLow, debounce, consumer);
        try
        {
            lock (_chip.Gate)
            {
                var state = Claim(line, consumer);
                state.IsOutput = false;
                state.Bias = bias;
                input.Start(state.Level != activeLow);
                _inputs.Add(line, input);
                _chip.SaveLocked();
            }
        }
        catch
        {
            input.StopTimer();
            throw;
        }
        Log.GpioLineRequested(_logger, ChipPath, line, "input", consumer);
        return input;
    }

    /// <summary>An input's contact closing: <c>SetInput(line, true)</c>.</summary>
    public void Press(int line) => SetInput(line, active: true);

    /// <summary>An input's contact opening: <c>SetInput(line, false)</c>.</summary>
    public void Release(int line) => SetInput(line, active: false);

    /// <summary>
    /// Drives an input requested from this driver to the level that reads as <paramref name="active"/> (low for an
    /// active-low line). Raises Changed at once, or after the debounce period of stability on the TimeProvider.
    /// </summary>
    /// <exception cref="InvalidOperationException">the line is not an input requested from this driver</exception>
    public void SetInput(int line, bool active)
    {
        Input? input;
        lock (_chip.Gate)
        {
            ThrowIfGone();
            if (!_inputs.TryGetValue(line, out input))
                throw new InvalidOperationException($"line {line} of {_chip.Description} is not an input requested from this driver");
            _chip.Line(line).External = active != input.ActiveLow;
            _chip.SaveLocked();
        }
        input.OnLevelChanged();
    }

    /// <summary>
    /// Models the process dying: nothing of the owner runs (no Dispose, no finally), and the kernel releases every
    /// line request it held, each line then doing what <see cref="SimulatedGpioChip.OnRelease"/> says. This driver
    /// and its lines are dead afterwards: writes fail with EBADF, inputs report nothing. Start a new driver on the
    /// same chip for the restarted process.
    /// </summary>
    public void SimulateCrash()
    {
        Input[] inputs;
        int released;
        lock (_chip.Gate)
        {
            ThrowIfGone();
            _crashed = true;
            inputs = [.. _inputs.Values];
            released = _inputs.Count + _outputs.Count;
            foreach (int line in _inputs.Keys.Concat(_outputs.Keys))
                _chip.ReleaseLocked(line);
            _chip.SaveLocked();
        }
        foreach (var input in inputs)
            input.StopTimer();
        Log.SimulatedCrash(_logger, ChipPath, released);
    }

    /// <summary>Releases every line still requested (what closing the request fds does) and stops debounce timers.</summary>
    public ValueTask DisposeAsync()
    {
        Input[] inputs;
        Output[] outputs;
        lock (_chip.Gate)
        {
            if (_disposed || _crashed)
                return ValueTask.CompletedTask;
            _disposed = true;
            inputs = [.. _inputs.Values];
            outputs = [.. _outputs.Values];
        }
        foreach (var input in inputs)
            input.Dispose();
        foreach (var output in outputs)
            output.Dispose();
        return ValueTask.CompletedTask;
    }

    internal void OnLevelChanged(int line)
    {
        Input? input;
        lock (_chip.Gate)
            _inputs.TryGetValue(line, out input);
        input?.OnLevelChanged();
    }

    private SimulatedGpioChip.LineState Claim(int line, string consumer)
    {
        ThrowIfGone();
        if (line < 0 || line >= _chip.LineCount)
        {
            throw new GpioException($"line {line} requested but {_chip.Description} has {_chip.LineCount} lines (0..{_chip.LineCount - 1})",
                Libc.EINVAL, ChipPath, [line]);
        }
        var state = _chip.Line(line);
        if (state.Process is not null)
        {
            string by = ReferenceEquals(state.Owner, this) ? "already requested by this process" : "in use by another process";
            throw new GpioException($"line {line} of {_chip.Description} is busy: {by} as '{state.Consumer}'", Libc.EBUSY, ChipPath, [line]);
        }
        state.Owner = this;
        state.Process = SimulatedProcess.Current;
        state.Consumer = consumer;
        state.Held = null;
        return state;
    }

    private void ThrowIfGone()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_crashed)
            throw new InvalidOperationException($"this simulated driver of {_chip.Description} crashed; start a new one on the same chip");
    }

    private void RecordLocked(DateTimeOffset at, int line, string consumer, bool active, bool high, bool isRequest)
    {
        _changes.Add(new GpioChange(at, line, consumer, active, high, isRequest));
        Log.SimulatedOutputChanged(_logger, ChipPath, line, consumer, active ? "active" : "inactive", high ? 1 : 0);
    }

    /// <summary>Releases one line of this driver (Dispose of a line, not a crash).</summary>
    private void ReleaseLine(int line, object owner)
    {
        lock (_chip.Gate)
        {
            if (_crashed)
                return; // the kernel already released it
            bool mine = _inputs.TryGetValue(line, out var input) && ReferenceEquals(input, owner)
                || _outputs.TryGetValue(line, out var output) && ReferenceEquals(output, owner);
            if (!mine)
                return;
            _inputs.Remove(line);
            _outputs.Remove(line);
            _chip.ReleaseLocked(line);
            _chip.SaveLocked();
        }
        Log.GpioLineReleased(_logger, ChipPath, line);
    }

    private long NowNs()
    {
        long ticks = _time.GetTimestamp();
        long frequency = _time.TimestampFrequency;
        return (long)((Int128)ticks * 1_000_000_000 / frequency);
    }

    private sealed class Output(SimulatedGpioDriver driver, int line, bool activeLow, string consumer, bool initialActive) : IGpioOutput
    {
        private bool _active = initialActive;
        private bool _released;

        public int Line => line;

        public bool IsActive
        {
            get
            {
                lock (driver._chip.Gate)
                    return _active;
            }
        }

        public void Set(bool active)
        {
            var at = driver._time.GetUtcNow();
            lock (driver._chip.Gate)
            {
                if (driver._crashed)
                {
                    throw new GpioException($"setting line {line} of {driver._chip.Description} failed: its request died with its process",
                        Libc.EBADF, driver.ChipPath, [line]);
                }
                ObjectDisposedException.ThrowIf(_released, this);
                bool high = active != activeLow;
                driver._chip.Line(line).OutputHigh = high;
                _active = active;
                driver.RecordLocked(at, line, consumer, active, high, isRequest: false);
                driver._chip.SaveLocked();
            }
        }

        public void Dispose()
        {
            lock (driver._chip.Gate)
            {
                if (_released)
                    return;
                _released = true;
            }
            driver.ReleaseLine(line, this);
        }
    }

    private sealed class Input : IGpioInput
    {
        private readonly SimulatedGpioDriver _driver;
        private readonly TimeSpan _debounce;
        private readonly string _consumer;
        private readonly ITimer? _debounceTimer;
        private bool _reported;
        private bool _released;

        public Input(SimulatedGpioDriver driver, int line, bool activeLow, TimeSpan debounce, string consumer)
        {
            _driver = driver;
            Line = line;
            ActiveLow = activeLow;
            _debounce = debounce;
            _consumer = consumer;
            if (debounce > TimeSpan.Zero)
                _debounceTimer = driver._time.CreateTimer(static s => ((Input)s!).Report(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public int Line { get; }

        public bool ActiveLow { get; }

        /// <summary>The debounced value (what the kernel's GET_VALUES gives for a line with debounce).</summary>
        public bool IsActive
        {
            get
            {
                lock (_driver._chip.Gate)
                {
                    ObjectDisposedException.ThrowIf(_released, this);
                    return _debounceTimer is null ? Raw() : _reported;
                }
            }
        }

        public event Action<GpioEdge>? Changed;

        public void OnLevelChanged()
        {
            if (_debounceTimer is null)
                Report();
            else
                _debounceTimer.Change(_debounce, Timeout.InfiniteTimeSpan); // restart: stable for the whole period
        }

        /// <summary>Under the chip's lock, once the line is claimed: the value edges are reported against.</summary>
        public void Start(bool active) => _reported = active;

        public void StopTimer() => _debounceTimer?.Dispose();

        public void Dispose()
        {
            lock (_driver._chip.Gate)
            {
                if (_released)
                    return;
                _released = true;
            }
            StopTimer();
            _driver.ReleaseLine(Line, this);
        }

        private bool Raw() => _driver._chip.Line(Line).Level != ActiveLow;

        private void Report()
        {
            bool active;
            lock (_driver._chip.Gate)
            {
                if (_released || _driver._crashed)
                    return;
                active = Raw();
                if (active == _reported)
                    return; // a bounce that came back, or no change
                _reported = active;
            }
            Log.SimulatedInputEdge(_driver._logger, _driver.ChipPath, Line, _consumer, active ? "active" : "inactive");
            var edge = new GpioEdge(active, _driver.NowNs());
            try
            {
                Changed?.Invoke(edge);
            }
            catch (Exception ex)
            {
                Log.GpioEdgeHandlerFailed(_driver._logger, ex, Line, _driver.ChipPath);
            }
        }
    }
}
