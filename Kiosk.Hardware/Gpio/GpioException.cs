using System.Runtime.InteropServices;

namespace Kiosk.Hardware.Gpio;

/// <summary>
/// A GPIO failure: the chip missing or not a GPIO chip, a line out of range or busy, or an ioctl/read failing.
/// The message names the chip and the lines and ends with errno and its text, e.g.
/// <c>line 27 requested but /dev/gpiochip0 (pinctrl-bcm2711) has 27 lines (0..26) (errno 22: Invalid argument)</c>.
/// </summary>
/// <remarks>
/// Validation failures carry the errno the kernel gives for the same mistake (EINVAL for a line out of range,
/// EBUSY for a line already requested), so the simulated driver's errors read like the real one's.
/// </remarks>
public sealed class GpioException : IOException
{
    public GpioException(string detail, int errno, string chipPath, IReadOnlyList<int> lines, Exception? innerException = null)
        : base(Compose(detail, errno), innerException)
    {
        Detail = detail;
        Errno = errno;
        ChipPath = chipPath;
        Lines = lines;
    }

    /// <summary>The message without the errno suffix.</summary>
    public string Detail { get; }

    /// <summary>The errno value (ENOENT = 2, EBUSY = 16, EINVAL = 22, …).</summary>
    public int Errno { get; }

    /// <summary>The chip, e.g. <c>/dev/gpiochip0</c>.</summary>
    public string ChipPath { get; }

    /// <summary>The line offsets concerned; empty for a failure of the chip itself.</summary>
    public IReadOnlyList<int> Lines { get; }

    /// <summary>A copy with <paramref name="prefix"/> before the detail, e.g. the settings key that named the line.</summary>
    public GpioException WithPrefix(string prefix) => new(prefix + Detail, Errno, ChipPath, Lines, this);

    private static string Compose(string detail, int errno) =>
        $"{detail} (errno {errno}: {Marshal.GetPInvokeErrorMessage(errno)})";
}
