using System.Globalization;
using Kiosk.Hardware.Gpio;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Hardware.Door;

/// <summary>
/// The door: a fail-secure lock relay pulsed open on a grant or an exit-button press, green and red LEDs and a
/// buzzer for feedback, and a door contact watched for forced and held-open doors.
/// </summary>
/// <remarks>
/// <para><b>Fail-secure.</b> The relay's line is requested with its locked value before anything else, so starting
/// the service locks the door first thing. Every way out locks it: the pulse ending, <see cref="Lock"/>,
/// <see cref="DisposeAsync"/> (even mid-pulse), a constructor failing half-way. Energized = unlocked, so a power
/// cut locks.</para>
/// <para><b>Crashes.</b> A dying process runs no Dispose. The kernel then releases its line requests, and what the
/// relay line does next is the GPIO chip driver's choice: return to an input (the line floats to its pull, which
/// must be the locked level: active-high relay input with a pull-down, see Kiosk.Hardware/README.md) or keep the
/// last value (a crash mid-pulse leaves the door unlocked until the service restarts and locks it at start-up).
/// Run under systemd with <c>Restart=always</c> and the watchdog so that window stays seconds long.</para>
/// <para><b>Threads.</b> Every public member may be called from any thread: grants come from the recognition loop,
/// edges from the driver's event thread, timers from the TimeProvider. One lock serialises them.
/// <see cref="EventRaised"/> handlers run under that lock, in order; they must be short and must not wait for
/// another thread that uses the controller (queue the event, e.g. to a channel for the database writer).</para>
/// <para><b>Re-entrancy.</b> A TimeProvider may run due timer callbacks inside GetUtcNow or ITimer.Change (the fake
/// one in the tests does), and the lock is re-entrant. So every operation reads the clock before it looks at the
/// state, arms or disarms timers only once the state is consistent, and raises its event last.</para>
/// </remarks>
public sealed class DoorController : IAsyncDisposable
{
    private static readonly TimeSpan LockRetry = TimeSpan.FromSeconds(1);

    private readonly DoorOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly IGpioOutput _relay;
    private readonly List<IDisposable> _lines = [];
    private readonly List<OutputSequence> _sequences = [];
    private readonly OutputSequence? _green;
    private readonly OutputSequence? _red;
    private readonly OutputSequence? _buzzer;
    private readonly IGpioInput? _exitButton;
    private readonly IGpioInput? _contact;
    private readonly ITimer _lockTimer;
    private readonly ITimer _heldOpenTimer;
    private readonly OutputSequence.Step[] _grantedLed;
    private readonly OutputSequence.Step[] _deniedLed;
    private readonly OutputSequence.Step[] _grantedBeep;
    private readonly OutputSequence.Step[] _deniedBeeps;
    private DateTimeOffset? _unlockedUntil;
    private string _unlockReason = "";
    private DateTimeOffset? _relockedAt;
    private bool? _doorClosed;
    private DateTimeOffset _openedAt;
    private bool _heldOpenRaised;
    private bool _disposed;

    /// <summary>
    /// Validates <paramref name="options"/>, requests the relay line locked, then the indicators and inputs. The
    /// controller does not own <paramref name="driver"/>: dispose the controller first, then the driver.
    /// </summary>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">the options are invalid (messages name the keys)</exception>
    /// <exception cref="GpioException">a line is out of range or busy; the message starts with the key that named it</exception>
    public DoorController(IGpioDriver driver, DoorOptions options, TimeProvider? timeProvider = null, ILogger<DoorController>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(driver);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;

        // First thing: the relay, requested at its locked value (the request itself drives it, no glitch).
        _relay = Open(nameof(DoorOptions.LockLine), options.LockLine,
            () => driver.OpenOutput(options.LockLine, options.LockActiveLow, initialActive: false, $"{options.Consumer}-lock"));

        lock (_gate)
        {
            try
            {
                _lockTimer = _time.CreateTimer(static s => ((DoorController)s!).OnLockTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _heldOpenTimer = _time.CreateTimer(static s => ((DoorController)s!).OnHeldOpenTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

                _green = Indicator(driver, nameof(DoorOptions.GreenLedLine), options.GreenLedLine, "green");
                _red = Indicator(driver, nameof(DoorOptions.RedLedLine), options.RedLedLine, "red");
                _buzzer = Indicator(driver, nameof(DoorOptions.BuzzerLine), options.BuzzerLine, "buzzer");

                if (options.ExitButtonLine != DoorOptions.None)
                {
                    _exitButton = Open(nameof(DoorOptions.ExitButtonLine), options.ExitButtonLine, () => driver.OpenInput(
                        options.ExitButtonLine, options.ExitButtonActiveLow, options.ExitButtonBias, options.Debounce, $"{options.Consumer}-exit"));
                    _lines.Add(_exitButton);
                    _exitButton.Changed += OnExitButton;
                }
                if (options.DoorContactLine != DoorOptions.None)
                {
                    _contact = Open(nameof(DoorOptions.DoorContactLine), options.DoorContactLine, () => driver.OpenInput(
                        options.DoorContactLine, options.DoorContactActiveLow, options.DoorContactBias, options.Debounce, $"{options.Consumer}-contact"));
                    _lines.Add(_contact);
                    _contact.Changed += OnContact;
                    // Read after subscribing (an edge meanwhile waits for this lock, then finds the state current).
                    var now = _time.GetUtcNow();
                    _doorClosed = _contact.IsActive;
                    if (_doorClosed == false)
                    {
                        _openedAt = now;
                        Arm(_heldOpenTimer, options.HeldOpenLimit);
                    }
                }

                _grantedLed = [new(TimeSpan.Zero, true), new(options.GrantedSignal, false)];
                _deniedLed = [new(TimeSpan.Zero, true), new(options.DeniedSignal, false)];
                _grantedBeep = [new(TimeSpan.Zero, true), new(options.Beep, false)];
                _deniedBeeps =
                [
                    new(TimeSpan.Zero, true), new(options.Beep, false),
                    new(options.Beep + options.BeepGap, true), new(options.Beep + options.BeepGap + options.Beep, false),
                ];
            }
            catch
            {
                _disposed = true;
                StopLocked(raiseLocked: false);
                _lockTimer?.Dispose();
                _heldOpenTimer?.Dispose();
                foreach (var sequence in _sequences)
                    sequence.Dispose();
                ReleaseLines();
                throw;
            }
        }
        if (options.IsSimulated)
            Log.DoorSimulated(_logger);
        Log.DoorStarted(_logger, driver.ChipPath, options.LockLine, options.ExitButtonLine, options.DoorContactLine);
    }

    /// <summary>
    /// Door events, in order, under the controller's lock (see the remarks). An exception from a handler is logged
    /// and does not reach the caller.
    /// </summary>
    public event Action<DoorEvent>? EventRaised;

    public DoorOptions Options => _options;

    /// <summary>True while the relay is energized.</summary>
    public bool IsUnlocked
    {
        get
        {
            lock (_gate)
                return _unlockedUntil is not null;
        }
    }

    /// <summary>When the current pulse ends; null while locked.</summary>
    public DateTimeOffset? UnlockedUntil
    {
        get
        {
            lock (_gate)
                return _unlockedUntil;
        }
    }

    /// <summary>The door contact's state: true closed, false open, null without a contact.</summary>
    public bool? IsDoorClosed
    {
        get
        {
            lock (_gate)
                return _doorClosed;
        }
    }

    /// <summary>
    /// Energizes the relay for <paramref name="pulse"/> (default Door:UnlockPulse), then locks. While already
    /// unlocked it extends: the door locks at the later of the two ends, the pulses do not add up.
    /// </summary>
    /// <param name="reason">for the log and the event, e.g. "granted: person 42" or "exit button"</param>
    /// <exception cref="GpioException">the relay could not be switched (the door stays locked)</exception>
    public void Unlock(TimeSpan? pulse, string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var length = pulse ?? _options.UnlockPulse;
        if (length <= TimeSpan.Zero || length > DoorOptions.MaxUnlockPulse)
            throw new ArgumentOutOfRangeException(nameof(pulse), length, $"an unlock pulse must be more than zero and at most {DoorOptions.MaxUnlockPulse:c}");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            UnlockLocked(length, reason);
        }
    }

    /// <summary>Locks now, ending any pulse (e.g. an operator's lockdown).</summary>
    public void Lock(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var now = _time.GetUtcNow();
            if (_unlockedUntil is null)
                return;
            _relay.Set(false);
            Relocked(now, reason);
        }
    }

    /// <summary>Green LED for Door:GrantedSignal and one beep; cancels a running denial signal.</summary>
    public void SignalGranted()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _red?.Off();
            _green?.Play(_grantedLed);
            _buzzer?.Play(_grantedBeep);
        }
    }

    /// <summary>Red LED for Door:DeniedSignal and two beeps; cancels a running grant signal.</summary>
    public void SignalDenied()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _green?.Off();
            _red?.Play(_deniedLed);
            _buzzer?.Play(_deniedBeeps);
        }
    }

    /// <summary>
    /// Locks the door (mid-pulse too), switches the indicators off, stops listening, waits for running timer
    /// callbacks, then releases the lines, the relay last.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (!BeginDispose())
            return;
        await _lockTimer.DisposeAsync().ConfigureAwait(false);
        await _heldOpenTimer.DisposeAsync().ConfigureAwait(false);
        foreach (var sequence in _sequences)
            await sequence.DisposeAsync().ConfigureAwait(false);
        ReleaseLines();
    }

    private bool BeginDispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return false;
            _disposed = true;
            StopLocked(raiseLocked: true);
            return true;
        }
    }

    /// <summary>Under the lock: relay locked first, whatever else fails; then quiet outputs and timers.</summary>
    private void StopLocked(bool raiseLocked)
    {
        try
        {
            var now = _time.GetUtcNow();
            _relay.Set(false);
            if (_unlockedUntil is not null && raiseLocked)
                Relocked(now, "controller stopped");
        }
        catch (Exception ex) when (ex is GpioException or ObjectDisposedException)
        {
            Log.DoorLockOnStopFailed(_logger, ex, _relay.Line);
        }
        _unlockedUntil = null;
        if (_exitButton is not null)
            _exitButton.Changed -= OnExitButton;
        if (_contact is not null)
            _contact.Changed -= OnContact;
        _lockTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _heldOpenTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var sequence in _sequences)
            sequence.Stop();
    }

    private void ReleaseLines()
    {
        for (int i = _lines.Count - 1; i >= 0; i--)
            _lines[i].Dispose();
        _relay.Dispose();
    }

    private void UnlockLocked(TimeSpan length, string reason)
    {
        var now = _time.GetUtcNow(); // first: due callbacks may run in here (see the remarks)
        var until = now + length;
        if (_unlockedUntil is { } current)
        {
            var end = until > current ? until : current;
            _unlockedUntil = end;
            _unlockReason = reason;
            if (until > current)
                Arm(_lockTimer, length);
            Log.DoorUnlockExtended(_logger, end, reason);
            Raise(DoorEventKind.Unlocked, now, $"{reason}, {Seconds(length)} (the door stays unlocked until {end:O})");
            return;
        }
        _relay.Set(true); // throws with the door still locked and the state unchanged
        _unlockedUntil = until;
        _unlockReason = reason;
        Arm(_lockTimer, length);
        Log.DoorUnlocked(_logger, length, reason);
        Raise(DoorEventKind.Unlocked, now, $"{reason}, {Seconds(length)}");
    }

    /// <summary>After the relay was released: state, timer, then the event.</summary>
    private void Relocked(DateTimeOffset now, string reason)
    {
        _unlockedUntil = null;
        _relockedAt = now;
        _lockTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Log.DoorLocked(_logger, reason);
        Raise(DoorEventKind.Locked, now, reason);
    }

    private void OnLockTimer()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_disposed || _unlockedUntil is not { } until)
                return;
            if (now < until)
            {
                Arm(_lockTimer, until - now); // extended meanwhile, or the timer rounded down
                return;
            }
            try
            {
                _relay.Set(false);
            }
            catch (Exception ex)
            {
                // A timer callback must not throw (it would end the process, and with a chip that keeps the last
                // value, leave the door open): log critical and try again.
                Log.DoorLockFailed(_logger, ex, _relay.Line, LockRetry);
                Arm(_lockTimer, LockRetry);
                return;
            }
            Relocked(now, "pulse ended");
        }
    }

    private void OnExitButton(GpioEdge edge)
    {
        if (!edge.Active)
            return;
        lock (_gate)
        {
            if (_disposed)
                return;
            try
            {
                UnlockLocked(_options.UnlockPulse, "exit button");
            }
            catch (Exception ex) when (ex is GpioException or ObjectDisposedException)
            {
                Log.DoorExitFailed(_logger, ex);
            }
        }
    }

    private void OnContact(GpioEdge edge)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_disposed || _doorClosed == edge.Active)
                return;
            _doorClosed = edge.Active;
            if (edge.Active)
            {
                var open = now - _openedAt;
                bool wasHeldOpen = _heldOpenRaised;
                _heldOpenRaised = false;
                _heldOpenTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                Raise(DoorEventKind.DoorClosed, now, wasHeldOpen ? $"after {Seconds(open)}, beyond the held-open limit" : $"after {Seconds(open)}");
                return;
            }

            _openedAt = now;
            _heldOpenRaised = false;
            string reason = _unlockReason;
            bool unlocked = _unlockedUntil is not null;
            var relocked = _relockedAt;
            Arm(_heldOpenTimer, _options.HeldOpenLimit);
            if (unlocked)
                Raise(DoorEventKind.DoorOpened, now, $"while unlocked ({reason})");
            else if (relocked is { } at && now - at <= _options.OpenGrace)
                Raise(DoorEventKind.DoorOpened, now, $"{Seconds(now - at)} after relocking ({reason}), within {DoorOptions.Key(nameof(DoorOptions.OpenGrace))}");
            else
                Alarm(DoorEventKind.DoorForced, now, $"door opened while locked; {(relocked is { } last ? $"last unlock ended {last:O}" : "no unlock since start")}");
        }
    }

    private void OnHeldOpenTimer()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_disposed || _doorClosed != false || _heldOpenRaised)
                return;
            _heldOpenRaised = true;
            Alarm(DoorEventKind.DoorHeldOpen, now, $"open for {Seconds(now - _openedAt)}, limit {Seconds(_options.HeldOpenLimit)}");
        }
    }

    private void Alarm(DoorEventKind kind, DateTimeOffset now, string detail)
    {
        Log.DoorAlarm(_logger, kind.ToString(), detail);
        Raise(kind, now, detail);
    }

    private void Raise(DoorEventKind kind, DateTimeOffset now, string detail)
    {
        var handlers = EventRaised;
        if (handlers is null)
            return;
        var e = new DoorEvent(kind, now, detail);
        foreach (var handler in handlers.GetInvocationList())
        {
            try
            {
                ((Action<DoorEvent>)handler)(e);
            }
            catch (Exception ex)
            {
                Log.DoorEventHandlerFailed(_logger, ex, kind.ToString());
            }
        }
    }

    /// <summary>Arms a one-shot timer, rounded up to whole milliseconds (timers truncate to them).</summary>
    internal static void Arm(ITimer timer, TimeSpan due) => timer.Change(RoundUp(due), Timeout.InfiniteTimeSpan);

    internal static TimeSpan RoundUp(TimeSpan due) => TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(due.TotalMilliseconds)));

    /// <summary>"3 s", "4.02 s": durations in the events and logs.</summary>
    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    private OutputSequence? Indicator(IGpioDriver driver, string key, int line, string role)
    {
        if (line == DoorOptions.None)
            return null;
        var output = Open(key, line, () => driver.OpenOutput(line, _options.IndicatorsActiveLow, initialActive: false, $"{_options.Consumer}-{role}"));
        _lines.Add(output);
        var sequence = new OutputSequence(role, output, _time, _gate, _logger);
        _sequences.Add(sequence);
        return sequence;
    }

    /// <summary>Opens a line; a GPIO failure comes back with the key that named the line in front.</summary>
    private static T Open<T>(string key, int line, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (GpioException ex)
        {
            throw ex.WithPrefix($"{DoorOptions.Key(key)} is {line}: ");
        }
    }
}
