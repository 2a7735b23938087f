using Kiosk.Hardware.Gpio;

namespace Kiosk.Hardware.Simulated;

/// <summary>What a simulated chip does with a line whose request is released (Dispose, or its process dying).</summary>
public enum SimulatedReleaseBehavior
{
    /// <summary>
    /// The pin returns to an input and floats to its default level (<see cref="SimulatedGpioChip.SetDefaultLevel"/>,
    /// low unless set: the pull-down the README's wiring asks for).
    /// </summary>
    ReturnToDefault,

    /// <summary>The pin keeps driving the level it last had until someone requests it again.</summary>
    KeepLastValue,
}

/// <summary>
/// The state of a simulated GPIO chip: line levels, who holds each line, what the outside world drives. It outlives
/// the <see cref="SimulatedGpioDriver"/>s using it, as a real chip outlives processes: a test can abandon one driver
/// (<see cref="SimulatedGpioDriver.SimulateCrash"/>) and start another on the same chip, as systemd restarts a
/// service.
/// </summary>
/// <remarks>Thread safety: all members may be called from any thread.</remarks>
public sealed class SimulatedGpioChip
{
    /// <summary>Lines of the BCM2835's bank: 0..53.</summary>
    public const int DefaultLineCount = 54;

    private readonly LineState[] _lines;

    public SimulatedGpioChip(string path = "/dev/gpiochip0", int lineCount = DefaultLineCount,
        SimulatedReleaseBehavior onRelease = SimulatedReleaseBehavior.ReturnToDefault)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(lineCount, 1);
        Path = path;
        LineCount = lineCount;
        OnRelease = onRelease;
        _lines = new LineState[lineCount];
        for (int i = 0; i < lineCount; i++)
            _lines[i] = new LineState();
    }

    public string Path { get; }

    /// <summary>Shown where a real chip shows its driver's label ("pinctrl-bcm2711").</summary>
    public string Label => "simulated";

    public int LineCount { get; }

    public SimulatedReleaseBehavior OnRelease { get; }

    /// <summary>"/dev/gpiochip0 (simulated)".</summary>
    public string Description => $"{Path} ({Label})";

    internal Lock Gate { get; } = new();

    /// <summary>The physical level of <paramref name="line"/> now, as a meter on the pin would read it.</summary>
    public bool IsHigh(int line)
    {
        lock (Gate)
            return Line(line).Level;
    }

    /// <summary>The consumer label holding <paramref name="line"/>, or null when free.</summary>
    public string? ConsumerOf(int line)
    {
        lock (Gate)
            return Line(line).Consumer;
    }

    /// <summary>The level a free, undriven line floats to (the board's pull resistor); low unless set.</summary>
    public void SetDefaultLevel(int line, bool high)
    {
        lock (Gate)
            Line(line).DefaultHigh = high;
    }

    /// <summary>
    /// The outside world driving <paramref name="line"/> (a contact to ground is <c>high: false</c>); null stops
    /// driving it. A driver with the line requested as an input sees the edge; see <see cref="SimulatedGpioDriver.SetInput"/>
    /// for the same in the active sense.
    /// </summary>
    public void Drive(int line, bool? high)
    {
        SimulatedGpioDriver? owner;
        lock (Gate)
        {
            var state = Line(line);
            state.External = high;
            owner = state.Owner;
        }
        owner?.OnLevelChanged(line);
    }

    internal LineState Line(int line)
    {
        if ((uint)line >= (uint)LineCount)
            throw new ArgumentOutOfRangeException(nameof(line), line, $"{Description} has lines 0..{LineCount - 1}");
        return _lines[line];
    }

    /// <summary>Called under <see cref="Gate"/>: what the kernel does when a request's fd is closed.</summary>
    internal void ReleaseLocked(int line)
    {
        var state = _lines[line];
        if (state.IsOutput && OnRelease == SimulatedReleaseBehavior.KeepLastValue)
            state.Held = state.OutputHigh;
        state.Owner = null;
        state.Consumer = null;
        state.IsOutput = false;
        state.Bias = GpioBias.AsIs;
    }

    internal sealed class LineState
    {
        public SimulatedGpioDriver? Owner;
        public string? Consumer;
        public bool IsOutput;
        public bool OutputHigh;
        public GpioBias Bias;
        public bool DefaultHigh;
        /// <summary>A released output still driving its last level (KeepLastValue).</summary>
        public bool? Held;
        /// <summary>The outside world's drive (button, contact), or null.</summary>
        public bool? External;

        public bool Level =>
            IsOutput ? OutputHigh
            : Held ?? External ?? Bias switch
            {
                GpioBias.PullUp => true,
                GpioBias.PullDown => false,
                _ => DefaultHigh,
            };
    }
}
