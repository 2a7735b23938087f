using Kiosk.Hardware.Gpio;
using Microsoft.Extensions.Logging;

namespace Kiosk.Hardware.Door;

/// <summary>
/// Plays a timed on/off pattern on one output (an LED, the buzzer) on the TimeProvider's clock. Playing a new
/// pattern replaces the one running. All members except <see cref="DisposeAsync"/> are called under the
/// controller's lock, which the timer callback takes too.
/// </summary>
internal sealed class OutputSequence : IAsyncDisposable, IDisposable
{
    private readonly string _role;
    private readonly IGpioOutput _output;
    private readonly TimeProvider _time;
    private readonly Lock _gate;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private Step[] _steps = [];
    private int _next;
    private DateTimeOffset _start;
    private bool _stopped;

    /// <summary>Set the output to <see cref="Active"/> at <see cref="At"/> after the start.</summary>
    public readonly record struct Step(TimeSpan At, bool Active);

    public OutputSequence(string role, IGpioOutput output, TimeProvider time, Lock gate, ILogger logger)
    {
        _role = role;
        _output = output;
        _time = time;
        _gate = gate;
        _logger = logger;
        _timer = time.CreateTimer(static s => ((OutputSequence)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public IGpioOutput Output => _output;

    /// <summary>Starts <paramref name="steps"/> (sorted by time, the first usually at zero) from now.</summary>
    public void Play(Step[] steps)
    {
        var now = _time.GetUtcNow(); // first: a due callback may run in here
        _steps = steps;
        _next = 0;
        _start = now;
        Advance(now);
    }

    /// <summary>Cancels the pattern and switches the output off.</summary>
    public void Off()
    {
        _steps = [];
        _next = 0;
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Write(false);
    }

    /// <summary>Off, and no timer callback acts from now on.</summary>
    public void Stop()
    {
        Off();
        _stopped = true;
    }

    /// <summary>Disposes the timer and waits for a callback in progress.</summary>
    public ValueTask DisposeAsync() => _timer.DisposeAsync();

    /// <summary>Disposes the timer without waiting (for a constructor's failure path, before any callback ran).</summary>
    public void Dispose() => _timer.Dispose();

    private void OnTimer()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (!_stopped)
                Advance(now);
        }
    }

    /// <summary>
    /// Applies the steps due at <paramref name="now"/>, then arms the timer for the next. Re-reads the fields on
    /// every turn: a write may run a due callback of this very sequence (see DoorController's remarks).
    /// </summary>
    private void Advance(DateTimeOffset now)
    {
        while (_next < _steps.Length && _start + _steps[_next].At <= now)
            Write(_steps[_next++].Active);
        if (_next < _steps.Length)
            DoorController.Arm(_timer, _start + _steps[_next].At - now);
        else
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    private void Write(bool active)
    {
        if (_output.IsActive == active)
            return;
        try
        {
            _output.Set(active);
        }
        catch (Exception ex) when (ex is GpioException or ObjectDisposedException)
        {
            // An LED or the buzzer failing must not stop the door; it is logged as an error.
            Log.DoorOutputFailed(_logger, ex, _role, _output.Line);
        }
    }
}
