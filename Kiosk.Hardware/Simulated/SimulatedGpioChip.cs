using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Interop.Gpio;

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
/// <remarks>
/// <para>With a <see cref="StateFile"/> the chip also outlives a real process: every change of a line (request,
/// write, release, outside drive) replaces the file (<see cref="SimulatedChipStateFile"/>), and a chip made on the
/// file starts from it. Lines whose owner process is gone (killed: no Dispose ran) are then released as the kernel
/// releases a dead process's requests, each doing what <see cref="OnRelease"/> says; lines of a process still running
/// stay busy, at their recorded level. The file is read only then: one chip per file at a time (one kiosk process),
/// and a chip made on the file of a chip still in use in this same process finds that chip's lines busy.</para>
/// <para>Thread safety: all members may be called from any thread.</para>
/// </remarks>
public sealed class SimulatedGpioChip
{
    /// <summary>Lines of the BCM2835's bank: 0..53.</summary>
    public const int DefaultLineCount = 54;

    private readonly LineState[] _lines;

    /// <param name="stateFile">the file the chip's lines are kept in (see the remarks); null or empty: in memory only</param>
    /// <exception cref="InvalidDataException">the state file is not a simulated chip's</exception>
    /// <exception cref="GpioException">the state file cannot be written (errno EIO)</exception>
    public SimulatedGpioChip(string path = "/dev/gpiochip0", int lineCount = DefaultLineCount,
        SimulatedReleaseBehavior onRelease = SimulatedReleaseBehavior.ReturnToDefault, string? stateFile = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(lineCount, 1);
        Path = path;
        LineCount = lineCount;
        OnRelease = onRelease;
        _lines = new LineState[lineCount];
        for (int i = 0; i < lineCount; i++)
            _lines[i] = new LineState();
        if (string.IsNullOrWhiteSpace(stateFile))
            return;
        StateFile = System.IO.Path.GetFullPath(stateFile);
        Load();
    }

    public string Path { get; }

    /// <summary>Shown where a real chip shows its driver's label ("pinctrl-bcm2711").</summary>
    public string Label => "simulated";

    public int LineCount { get; }

    public SimulatedReleaseBehavior OnRelease { get; }

    /// <summary>The file the lines are kept in (full path), or null for a chip in memory only.</summary>
    public string? StateFile { get; }

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
        {
            Line(line).DefaultHigh = high;
            SaveLocked();
        }
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
            SaveLocked();
        }
        owner?.OnLevelChanged(line);
    }

    internal LineState Line(int line)
    {
        if ((uint)line >= (uint)LineCount)
            throw new ArgumentOutOfRangeException(nameof(line), line, $"{Description} has lines 0..{LineCount - 1}");
        return _lines[line];
    }

    /// <summary>
    /// Called under <see cref="Gate"/>: what the kernel does when a request's fd is closed. The caller saves the
    /// state file (<see cref="SaveLocked"/>) once it has released all it releases.
    /// </summary>
    internal void ReleaseLocked(int line)
    {
        var state = _lines[line];
        if (state.IsOutput && OnRelease == SimulatedReleaseBehavior.KeepLastValue)
            state.Held = state.OutputHigh;
        state.Owner = null;
        state.Process = null;
        state.Consumer = null;
        state.IsOutput = false;
        state.Bias = GpioBias.AsIs;
    }

    /// <summary>Called under <see cref="Gate"/> after every change of a line: replaces the state file, if any.</summary>
    /// <exception cref="GpioException">the file cannot be written (errno EIO)</exception>
    internal void SaveLocked()
    {
        if (StateFile is null)
            return;
        var records = new SimulatedLineRecord[LineCount];
        for (int i = 0; i < LineCount; i++)
        {
            var state = _lines[i];
            records[i] = new SimulatedLineRecord(i, state.Level, state.IsOutput || state.Held is not null, state.Consumer, state.Process);
        }
        try
        {
            SimulatedChipStateFile.Write(StateFile, Path, records);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new GpioException($"the state file {StateFile} of {Description} cannot be written: {e.Message}", Libc.EIO, Path, [], e);
        }
    }

    /// <summary>The file's lines: those of a process still running stay held, the others are released; then saved.</summary>
    private void Load()
    {
        var records = SimulatedChipStateFile.Read(StateFile!);
        lock (Gate)
        {
            foreach (var record in records)
            {
                if ((uint)record.Line >= (uint)LineCount)
                    throw new InvalidDataException($"{StateFile} records line {record.Line}, but {Description} has lines 0..{LineCount - 1}");
                var state = _lines[record.Line];
                if (record.Owner is { } owner && owner.IsRunning())
                {
                    // Held by another process: busy, at the level it left (this chip does not see its later changes).
                    state.Process = owner;
                    state.Consumer = record.Consumer;
                    state.Held = record.High;
                }
                else if (record.Driven && OnRelease == SimulatedReleaseBehavior.KeepLastValue)
                {
                    state.Held = record.High; // the dead owner's output, or a line released earlier, still driven
                }
                // else: free, or its owner died and the line went back to its default level
            }
            SaveLocked();
        }
    }

    internal sealed class LineState
    {
        public SimulatedGpioDriver? Owner;
        /// <summary>The process holding the line (this one for an <see cref="Owner"/>), or null when free.</summary>
        public SimulatedProcess? Process;
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
