using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Kiosk.Hardware.Interop.Gpio;

// The GPIO character device's userspace ABI, v2 part, mirrored from include/uapi/linux/gpio.h of torvalds/linux
// (the stored copy, blob of commit 0486beaf88d2460e9dbcbba281dab683a838f0c6). Its v2 flag list ends at
// GPIO_V2_LINE_FLAG_BIAS_DISABLED (bit 10): the ABI as introduced in Linux 5.10. Later kernels only add flag bits
// (EVENT_CLOCK_REALTIME, EVENT_CLOCK_HTE) that this code neither sets nor needs; the structs below are unchanged
// since. Minimum kernel: 5.10 (Raspberry Pi OS bookworm ships 6.x).
//
// Layout notes: every struct here is blittable and passed by pointer, so the managed layout is the native one.
// __aligned_u64 is ulong (8-byte aligned on x86-64 and arm64, the only targets). Arrays of structs use
// [InlineArray]; arrays of scalars use fixed buffers. Kiosk.Tests asserts each size and key offset against the
// header's arithmetic, and each ioctl number against _IOC computed by hand.

/// <summary>Constants, enums and ioctl numbers of <c>linux/gpio.h</c> (v2), C names kept.</summary>
internal static unsafe class GpioUapi
{
    public const int GPIO_MAX_NAME_SIZE = 32;
    public const int GPIO_V2_LINES_MAX = 64;
    public const int GPIO_V2_LINE_NUM_ATTRS_MAX = 10;

    // enum gpio_v2_line_flag (_BITULL(n))
    public const ulong GPIO_V2_LINE_FLAG_USED = 1UL << 0;
    public const ulong GPIO_V2_LINE_FLAG_ACTIVE_LOW = 1UL << 1;
    public const ulong GPIO_V2_LINE_FLAG_INPUT = 1UL << 2;
    public const ulong GPIO_V2_LINE_FLAG_OUTPUT = 1UL << 3;
    public const ulong GPIO_V2_LINE_FLAG_EDGE_RISING = 1UL << 4;
    public const ulong GPIO_V2_LINE_FLAG_EDGE_FALLING = 1UL << 5;
    public const ulong GPIO_V2_LINE_FLAG_OPEN_DRAIN = 1UL << 6;
    public const ulong GPIO_V2_LINE_FLAG_OPEN_SOURCE = 1UL << 7;
    public const ulong GPIO_V2_LINE_FLAG_BIAS_PULL_UP = 1UL << 8;
    public const ulong GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN = 1UL << 9;
    public const ulong GPIO_V2_LINE_FLAG_BIAS_DISABLED = 1UL << 10;

    // enum gpio_v2_line_attr_id
    public const uint GPIO_V2_LINE_ATTR_ID_FLAGS = 1;
    public const uint GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES = 2;
    public const uint GPIO_V2_LINE_ATTR_ID_DEBOUNCE = 3;

    // enum gpio_v2_line_event_id
    public const uint GPIO_V2_LINE_EVENT_RISING_EDGE = 1;
    public const uint GPIO_V2_LINE_EVENT_FALLING_EDGE = 2;

    // <asm-generic/ioctl.h>, which both x86-64 and arm64 use unchanged (powerpc, mips, sparc and alpha differ:
    // 13 size bits and 3 direction bits; not targets here).
    public const int _IOC_NRBITS = 8;
    public const int _IOC_TYPEBITS = 8;
    public const int _IOC_SIZEBITS = 14;
    public const int _IOC_DIRBITS = 2;
    public const int _IOC_NRSHIFT = 0;
    public const int _IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS;
    public const int _IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS;
    public const int _IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS;
    public const uint _IOC_NONE = 0;
    public const uint _IOC_WRITE = 1;
    public const uint _IOC_READ = 2;

    public static uint _IOC(uint dir, uint type, uint nr, uint size)
    {
        if (size >= 1u << _IOC_SIZEBITS)
            throw new ArgumentOutOfRangeException(nameof(size), size, "an ioctl argument must be smaller than 16 KiB");
        return (dir << _IOC_DIRSHIFT) | (type << _IOC_TYPESHIFT) | (nr << _IOC_NRSHIFT) | (size << _IOC_SIZESHIFT);
    }

    public static uint _IOR(uint type, uint nr, uint size) => _IOC(_IOC_READ, type, nr, size);
    public static uint _IOWR(uint type, uint nr, uint size) => _IOC(_IOC_READ | _IOC_WRITE, type, nr, size);

    // v1 and v2 ioctl()s; the size operand is sizeof(struct …) exactly as the header's macros take it.
    public static readonly uint GPIO_GET_CHIPINFO_IOCTL = _IOR(0xB4, 0x01, (uint)sizeof(gpiochip_info));

    // v2 ioctl()s
    public static readonly uint GPIO_V2_GET_LINEINFO_IOCTL = _IOWR(0xB4, 0x05, (uint)sizeof(gpio_v2_line_info));
    public static readonly uint GPIO_V2_GET_LINE_IOCTL = _IOWR(0xB4, 0x07, (uint)sizeof(gpio_v2_line_request));
    public static readonly uint GPIO_V2_LINE_SET_CONFIG_IOCTL = _IOWR(0xB4, 0x0D, (uint)sizeof(gpio_v2_line_config));
    public static readonly uint GPIO_V2_LINE_GET_VALUES_IOCTL = _IOWR(0xB4, 0x0E, (uint)sizeof(gpio_v2_line_values));
    public static readonly uint GPIO_V2_LINE_SET_VALUES_IOCTL = _IOWR(0xB4, 0x0F, (uint)sizeof(gpio_v2_line_values));
}

/// <summary><c>struct gpiochip_info</c>: 68 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct gpiochip_info
{
    public fixed byte name[GpioUapi.GPIO_MAX_NAME_SIZE];
    public fixed byte label[GpioUapi.GPIO_MAX_NAME_SIZE];
    public uint lines;
}

/// <summary><c>struct gpio_v2_line_values</c>: 16 bytes; bit n is the line at index n of the request's offsets.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct gpio_v2_line_values
{
    public ulong bits;
    public ulong mask;
}

/// <summary><c>struct gpio_v2_line_attribute</c>: 16 bytes; the anonymous union sits at offset 8.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct gpio_v2_line_attribute
{
    [FieldOffset(0)] public uint id;
    [FieldOffset(4)] public uint padding;
    [FieldOffset(8)] public ulong flags;
    [FieldOffset(8)] public ulong values;
    [FieldOffset(8)] public uint debounce_period_us;
}

/// <summary><c>struct gpio_v2_line_config_attribute</c>: 24 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct gpio_v2_line_config_attribute
{
    public gpio_v2_line_attribute attr;
    public ulong mask;
}

/// <summary><c>struct gpio_v2_line_config_attribute attrs[GPIO_V2_LINE_NUM_ATTRS_MAX]</c>.</summary>
[InlineArray(GpioUapi.GPIO_V2_LINE_NUM_ATTRS_MAX)]
internal struct gpio_v2_line_config_attribute_array
{
    private gpio_v2_line_config_attribute _element0;
}

/// <summary><c>struct gpio_v2_line_attribute attrs[GPIO_V2_LINE_NUM_ATTRS_MAX]</c>.</summary>
[InlineArray(GpioUapi.GPIO_V2_LINE_NUM_ATTRS_MAX)]
internal struct gpio_v2_line_attribute_array
{
    private gpio_v2_line_attribute _element0;
}

/// <summary><c>struct gpio_v2_line_config</c>: 272 bytes (8 + 4 + 5×4 + 10×24).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct gpio_v2_line_config
{
    public ulong flags;
    public uint num_attrs;
    public fixed uint padding[5];
    public gpio_v2_line_config_attribute_array attrs;
}

/// <summary><c>struct gpio_v2_line_request</c>: 592 bytes (64×4 + 32 + 272 + 4 + 4 + 5×4 + 4).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct gpio_v2_line_request
{
    public fixed uint offsets[GpioUapi.GPIO_V2_LINES_MAX];
    public fixed byte consumer[GpioUapi.GPIO_MAX_NAME_SIZE];
    public gpio_v2_line_config config;
    public uint num_lines;
    public uint event_buffer_size;
    public fixed uint padding[5];
    /// <summary>Out: the line request's file descriptor (anonymous inode), owned by the caller from then on.</summary>
    public int fd;
}

/// <summary><c>struct gpio_v2_line_info</c>: 256 bytes (32 + 32 + 4 + 4 + 8 + 10×16 + 4×4).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct gpio_v2_line_info
{
    public fixed byte name[GpioUapi.GPIO_MAX_NAME_SIZE];
    public fixed byte consumer[GpioUapi.GPIO_MAX_NAME_SIZE];
    public uint offset;
    public uint num_attrs;
    public ulong flags;
    public gpio_v2_line_attribute_array attrs;
    public fixed uint padding[4];
}

/// <summary><c>struct gpio_v2_line_event</c>: 48 bytes, read() from a line request with edge detection.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct gpio_v2_line_event
{
    /// <summary>CLOCK_MONOTONIC nanoseconds unless an EVENT_CLOCK flag says otherwise (never set here).</summary>
    public ulong timestamp_ns;
    public uint id;
    public uint offset;
    public uint seqno;
    public uint line_seqno;
    public fixed uint padding[6];
}
