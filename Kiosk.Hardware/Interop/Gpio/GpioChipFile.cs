using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Kiosk.Hardware.Gpio;
using static Kiosk.Hardware.Interop.Gpio.GpioUapi;

namespace Kiosk.Hardware.Interop.Gpio;

/// <summary>
/// An open GPIO chip: its identity and the line requests made on it. Every failure becomes a
/// <see cref="GpioException"/> naming the chip, the line and errno.
/// </summary>
internal sealed unsafe class GpioChipFile : IDisposable
{
    private const string DevDirectory = "/dev";
    private readonly GpioChipHandle _handle;

    private GpioChipFile(GpioChipHandle handle, string path, in gpiochip_info info)
    {
        _handle = handle;
        Path = path;
        fixed (byte* name = info.name)
            Name = CString(name, GPIO_MAX_NAME_SIZE);
        fixed (byte* label = info.label)
            Label = CString(label, GPIO_MAX_NAME_SIZE);
        LineCount = checked((int)info.lines);
    }

    public string Path { get; }

    /// <summary>The kernel's name, e.g. <c>gpiochip0</c>.</summary>
    public string Name { get; }

    /// <summary>The driver's label, e.g. <c>pinctrl-bcm2711</c> or <c>pinctrl-rp1</c>.</summary>
    public string Label { get; }

    public int LineCount { get; }

    /// <summary>"/dev/gpiochip0 (pinctrl-bcm2711)".</summary>
    public string Description => $"{Path} ({Label})";

    /// <exception cref="GpioException">missing (the message lists the chips present), inaccessible, or not a GPIO chip</exception>
    public static GpioChipFile Open(string path)
    {
        int fd = Libc.open(path, Libc.O_RDWR | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                Libc.ENOENT => new GpioException($"GPIO chip {path} not found; chips here: {DescribeChips()}", errno, path, []),
                Libc.EACCES or Libc.EPERM => new GpioException(
                    $"GPIO chip {path} cannot be opened read-write: the service user needs the gpio group " +
                    "(or DeviceAllow=char-gpiochip rw in the unit)", errno, path, []),
                _ => new GpioException($"GPIO chip {path} cannot be opened", errno, path, []),
            };
        }

        var handle = new GpioChipHandle(fd);
        try
        {
            gpiochip_info info = default;
            int rc;
            using (var lease = handle.Lease())
                rc = Libc.ioctl(lease.Fd, GPIO_GET_CHIPINFO_IOCTL, &info);
            if (rc < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw errno is Libc.ENOTTY or Libc.EINVAL
                    ? new GpioException($"{path} is not a GPIO character device (GPIO_GET_CHIPINFO_IOCTL refused)", errno, path, [])
                    : new GpioException($"GPIO chip {path}: GPIO_GET_CHIPINFO_IOCTL failed", errno, path, []);
            }
            return new GpioChipFile(handle, path, info);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>"/dev/gpiochip0 (pinctrl-bcm2711, 58 lines), /dev/gpiochip1 (raspberrypi-exp-gpio, 8 lines)", or "none (…)".</summary>
    public static string DescribeChips()
    {
        string[] paths;
        try
        {
            paths = Directory.GetFiles(DevDirectory, "gpiochip*");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"unknown ({DevDirectory} cannot be listed: {ex.Message})";
        }
        if (paths.Length == 0)
            return $"none (no {DevDirectory}/gpiochip* on this machine)";

        Array.Sort(paths, static (a, b) => ChipNumber(a).CompareTo(ChipNumber(b)));
        var text = new StringBuilder();
        foreach (string path in paths)
        {
            if (text.Length > 0)
                text.Append(", ");
            text.Append(path).Append(" (").Append(DescribeOne(path)).Append(')');
        }
        return text.ToString();

        static int ChipNumber(string path) =>
            int.TryParse(System.IO.Path.GetFileName(path).AsSpan("gpiochip".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : int.MaxValue;

        static string DescribeOne(string path)
        {
            int fd = Libc.open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (fd < 0)
                return "unreadable: " + Libc.StrError(Marshal.GetLastPInvokeError());
            using var handle = new GpioChipHandle(fd);
            gpiochip_info info = default;
            int rc;
            using (var lease = handle.Lease())
                rc = Libc.ioctl(lease.Fd, GPIO_GET_CHIPINFO_IOCTL, &info);
            if (rc < 0)
                return "not a GPIO chip: " + Libc.StrError(Marshal.GetLastPInvokeError());
            return $"{CString(info.label, GPIO_MAX_NAME_SIZE)}, {info.lines} lines";
        }
    }

    /// <summary>Requests one line as an output whose first driven value is <paramref name="initialActive"/>.</summary>
    public GpioLineRequest RequestOutput(int line, bool activeLow, bool initialActive, string consumer)
    {
        gpio_v2_line_request request = default;
        request.config.flags = GPIO_V2_LINE_FLAG_OUTPUT | (activeLow ? GPIO_V2_LINE_FLAG_ACTIVE_LOW : 0);
        // The initial value travels with the request, so the line never glitches through another level.
        request.config.num_attrs = 1;
        request.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
        request.config.attrs[0].attr.values = initialActive ? 1UL : 0UL;
        request.config.attrs[0].mask = 1; // index 0 of offsets
        return Request(ref request, line, consumer, "an output");
    }

    /// <summary>Requests one line as an input reporting both edges.</summary>
    public GpioLineRequest RequestInput(int line, bool activeLow, GpioBias bias, TimeSpan debounce, string consumer)
    {
        gpio_v2_line_request request = default;
        request.config.flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING | GPIO_V2_LINE_FLAG_EDGE_FALLING
            | (activeLow ? GPIO_V2_LINE_FLAG_ACTIVE_LOW : 0)
            | bias switch
            {
                GpioBias.AsIs => 0,
                GpioBias.Disabled => GPIO_V2_LINE_FLAG_BIAS_DISABLED,
                GpioBias.PullUp => GPIO_V2_LINE_FLAG_BIAS_PULL_UP,
                GpioBias.PullDown => GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN,
                _ => throw new ArgumentOutOfRangeException(nameof(bias), bias, null),
            };
        if (debounce > TimeSpan.Zero)
        {
            request.config.num_attrs = 1;
            request.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE;
            request.config.attrs[0].attr.debounce_period_us = checked((uint)Math.Ceiling(debounce.TotalMicroseconds));
            request.config.attrs[0].mask = 1;
        }
        return Request(ref request, line, consumer, "an input");
    }

    /// <summary>The line's consumer label, or null when unused or unknown.</summary>
    public string? GetConsumer(int line)
    {
        gpio_v2_line_info info = default;
        info.offset = (uint)line;
        int rc;
        using (var lease = _handle.Lease())
            rc = Libc.ioctl(lease.Fd, GPIO_V2_GET_LINEINFO_IOCTL, &info);
        if (rc < 0 || (info.flags & GPIO_V2_LINE_FLAG_USED) == 0)
            return null;
        string consumer = CString(info.consumer, GPIO_MAX_NAME_SIZE);
        return consumer.Length > 0 ? consumer : null;
    }

    public void Dispose() => _handle.Dispose();

    private GpioLineRequest Request(ref gpio_v2_line_request request, int line, string consumer, string what)
    {
        int rc;
        fixed (gpio_v2_line_request* p = &request)
        {
            p->offsets[0] = (uint)line;
            p->num_lines = 1;
            WriteCString(p->consumer, GPIO_MAX_NAME_SIZE, consumer);
            using var lease = _handle.Lease();
            rc = Libc.ioctl(lease.Fd, GPIO_V2_GET_LINE_IOCTL, p);
        }
        if (rc < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string detail = errno switch
            {
                Libc.EBUSY => $"line {line} of {Description} is busy: in use by '{GetConsumer(line) ?? "(no label)"}' (another process or a kernel driver)",
                Libc.EINVAL when line >= LineCount => $"line {line} requested but {Description} has {LineCount} lines (0..{LineCount - 1})",
                _ => $"requesting line {line} of {Description} as {what} failed",
            };
            throw new GpioException(detail, errno, Path, [line]);
        }
        return new GpioLineRequest(new GpioLineRequestHandle(request.fd), Path, line);
    }

    private static string CString(byte* text, int capacity)
    {
        var bytes = new ReadOnlySpan<byte>(text, capacity);
        int end = bytes.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
    }

    /// <summary>Copies at most capacity-1 UTF-8 bytes (never splitting a character) and a terminating NUL.</summary>
    private static void WriteCString(byte* destination, int capacity, string text)
    {
        var span = new Span<byte>(destination, capacity);
        span.Clear();
        int length = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            int size = rune.Utf8SequenceLength;
            if (length + size > capacity - 1)
                break;
            rune.EncodeToUtf8(span[length..]);
            length += size;
        }
    }
}
