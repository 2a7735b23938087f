namespace Kiosk.Hardware.Gpio;

/// <summary>
/// One GPIO chip: requests single lines as outputs or as inputs with edge events. Implementations:
/// <see cref="CharacterDeviceGpioDriver"/> (the kernel's <c>/dev/gpiochipN</c>, uAPI v2) and
/// <see cref="Simulated.SimulatedGpioDriver"/> (in memory, for tests and machines without GPIO).
/// </summary>
/// <remarks>
/// Thread safety: every member may be called from any thread. Lines are in the "active" sense throughout:
/// with <c>activeLow</c> the driver inverts the physical level, as the kernel's ACTIVE_LOW flag does.
/// Disposing the driver waits for its event thread to stop and releases every line still requested.
/// Each line may be requested once (a second request fails with EBUSY, as the kernel's does).
/// </remarks>
public interface IGpioDriver : IAsyncDisposable
{
    /// <summary>The chip, e.g. <c>/dev/gpiochip0</c>.</summary>
    string ChipPath { get; }

    /// <summary>Requests <paramref name="line"/> as an output, driven to <paramref name="initialActive"/> by the request itself.</summary>
    /// <param name="initialActive">the safe state: the line is never driven to anything else before the first Set</param>
    /// <param name="consumer">label shown by <c>gpioinfo</c> (at most 31 UTF-8 bytes are kept)</param>
    /// <exception cref="GpioException">the line is out of range, busy, or the request failed</exception>
    IGpioOutput OpenOutput(int line, bool activeLow, bool initialActive, string consumer);

    /// <summary>Requests <paramref name="line"/> as an input reporting both edges, with optional bias and debounce.</summary>
    /// <param name="debounce">the kernel's debounce period (zero for none); edges come once the line is stable that long</param>
    /// <exception cref="GpioException">the line is out of range, busy, or the request failed</exception>
    IGpioInput OpenInput(int line, bool activeLow, GpioBias bias, TimeSpan debounce, string consumer);
}

/// <summary>A requested output line. Dispose releases it (what the line does then depends on the chip).</summary>
public interface IGpioOutput : IDisposable
{
    int Line { get; }

    /// <summary>The value last written (the request's initial value until the first <see cref="Set"/>).</summary>
    bool IsActive { get; }

    /// <exception cref="GpioException">the write failed</exception>
    /// <exception cref="ObjectDisposedException">the line was released</exception>
    void Set(bool active);
}

/// <summary>A requested input line with edge detection on both edges.</summary>
public interface IGpioInput : IDisposable
{
    int Line { get; }

    /// <summary>The line's value now (read from the chip).</summary>
    bool IsActive { get; }

    /// <summary>
    /// An edge. <see cref="CharacterDeviceGpioDriver"/> raises it on its event thread, the simulated driver on the
    /// thread that changed the input (or advanced the clock past a debounce period). Handlers should be short;
    /// an exception from one is logged, never propagated into the driver.
    /// </summary>
    event Action<GpioEdge>? Changed;
}

/// <summary>The bias to request on an input.</summary>
public enum GpioBias
{
    /// <summary>Leave the chip's current bias alone.</summary>
    AsIs,
    /// <summary>No pull (an external resistor sets the idle level).</summary>
    Disabled,
    /// <summary>Internal pull-up: the idle level is high (buttons and contacts switching to ground).</summary>
    PullUp,
    /// <summary>Internal pull-down: the idle level is low.</summary>
    PullDown,
}

/// <summary>An edge on an input line.</summary>
/// <param name="Active">true for inactive→active (a press, a contact closing), false for active→inactive</param>
/// <param name="TimestampNs">CLOCK_MONOTONIC nanoseconds from the kernel (simulated: the TimeProvider's timestamp)</param>
public readonly record struct GpioEdge(bool Active, long TimestampNs);
