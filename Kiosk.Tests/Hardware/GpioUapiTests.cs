using System.Runtime.CompilerServices;
using Kiosk.Hardware.Interop.Gpio;
using static Kiosk.Hardware.Interop.Gpio.GpioUapi;

namespace Kiosk.Tests.Hardware;

/// <summary>
/// The mirror of include/uapi/linux/gpio.h against the header's own arithmetic. Sizes are summed here from the
/// header's member lists (a field missing or mistyped changes them); ioctl numbers are built from those sizes with
/// _IOC done by hand (dir &lt;&lt; 30 | size &lt;&lt; 16 | type &lt;&lt; 8 | nr, the asm-generic encoding x86-64 and
/// arm64 share) and also written out as the literal numbers.
/// </summary>
public sealed unsafe class GpioUapiTests
{
    private const int NameSize = 32;  // GPIO_MAX_NAME_SIZE
    private const int LinesMax = 64;  // GPIO_V2_LINES_MAX
    private const int AttrsMax = 10;  // GPIO_V2_LINE_NUM_ATTRS_MAX

    // Header member lists, summed (all members are naturally aligned, so no implicit padding).
    private const int ChipInfoSize = NameSize + NameSize + 4;                              // name, label, lines
    private const int LineValuesSize = 8 + 8;                                              // bits, mask
    private const int LineAttributeSize = 4 + 4 + 8;                                       // id, padding, union
    private const int ConfigAttributeSize = LineAttributeSize + 8;                         // attr, mask
    private const int LineConfigSize = 8 + 4 + 5 * 4 + AttrsMax * ConfigAttributeSize;     // flags, num_attrs, padding[5], attrs[10]
    private const int LineRequestSize = LinesMax * 4 + NameSize + LineConfigSize + 4 + 4 + 5 * 4 + 4;
    private const int LineInfoSize = NameSize + NameSize + 4 + 4 + 8 + AttrsMax * LineAttributeSize + 4 * 4;
    private const int LineEventSize = 8 + 4 + 4 + 4 + 4 + 6 * 4;

    [Fact]
    public void The_header_arithmetic_gives_the_documented_sizes()
    {
        Assert.Equal(68, ChipInfoSize);
        Assert.Equal(16, LineValuesSize);
        Assert.Equal(16, LineAttributeSize);
        Assert.Equal(24, ConfigAttributeSize);
        Assert.Equal(272, LineConfigSize);
        Assert.Equal(592, LineRequestSize);
        Assert.Equal(256, LineInfoSize);
        Assert.Equal(48, LineEventSize);
    }

    [Fact]
    public void Every_mirrored_struct_has_the_size_of_its_C_declaration()
    {
        Assert.Equal(ChipInfoSize, Unsafe.SizeOf<gpiochip_info>());
        Assert.Equal(LineValuesSize, Unsafe.SizeOf<gpio_v2_line_values>());
        Assert.Equal(LineAttributeSize, Unsafe.SizeOf<gpio_v2_line_attribute>());
        Assert.Equal(ConfigAttributeSize, Unsafe.SizeOf<gpio_v2_line_config_attribute>());
        Assert.Equal(AttrsMax * ConfigAttributeSize, Unsafe.SizeOf<gpio_v2_line_config_attribute_array>());
        Assert.Equal(AttrsMax * LineAttributeSize, Unsafe.SizeOf<gpio_v2_line_attribute_array>());
        Assert.Equal(LineConfigSize, Unsafe.SizeOf<gpio_v2_line_config>());
        Assert.Equal(LineRequestSize, Unsafe.SizeOf<gpio_v2_line_request>());
        Assert.Equal(LineInfoSize, Unsafe.SizeOf<gpio_v2_line_info>());
        Assert.Equal(LineEventSize, Unsafe.SizeOf<gpio_v2_line_event>());
        Assert.Equal(8, Unsafe.SizeOf<Libc.pollfd>());
    }

    [Fact]
    public void Members_sit_at_the_offsets_the_header_implies()
    {
        gpio_v2_line_request request = default;
        byte* r = (byte*)&request;
        Assert.Equal(LinesMax * 4, (byte*)request.consumer - r);
        Assert.Equal(LinesMax * 4 + NameSize, (byte*)&request.config - r);
        Assert.Equal(LinesMax * 4 + NameSize + LineConfigSize, (byte*)&request.num_lines - r);
        Assert.Equal(LineRequestSize - 4, (byte*)&request.fd - r);

        byte* c = (byte*)&request.config;
        Assert.Equal(8, (byte*)&request.config.num_attrs - c);
        Assert.Equal(32, (byte*)&request.config.attrs - c);
        Assert.Equal(32 + ConfigAttributeSize, (byte*)Unsafe.AsPointer(ref request.config.attrs[1]) - c);

        gpio_v2_line_config_attribute attribute = default;
        byte* a = (byte*)&attribute;
        Assert.Equal(0, (byte*)&attribute.attr.id - a);
        Assert.Equal(8, (byte*)&attribute.attr.values - a);
        Assert.Equal(8, (byte*)&attribute.attr.flags - a);
        Assert.Equal(8, (byte*)&attribute.attr.debounce_period_us - a);
        Assert.Equal(16, (byte*)&attribute.mask - a);

        gpio_v2_line_info info = default;
        byte* i = (byte*)&info;
        Assert.Equal(64, (byte*)&info.offset - i);
        Assert.Equal(72, (byte*)&info.flags - i);
        Assert.Equal(80, (byte*)&info.attrs - i);

        gpio_v2_line_event e = default;
        byte* ev = (byte*)&e;
        Assert.Equal(8, (byte*)&e.id - ev);
        Assert.Equal(12, (byte*)&e.offset - ev);
        Assert.Equal(16, (byte*)&e.seqno - ev);
        Assert.Equal(20, (byte*)&e.line_seqno - ev);

        gpiochip_info chip = default;
        Assert.Equal(64, (byte*)&chip.lines - (byte*)&chip);
    }

    [Fact]
    public void Ioctl_numbers_are_IOR_and_IOWR_of_0xB4_with_the_struct_sizes()
    {
        const uint read = 2, readWrite = 3; // _IOC_READ, _IOC_READ | _IOC_WRITE
        static uint Ioc(uint dir, uint nr, int size) => dir << 30 | (uint)size << 16 | 0xB4u << 8 | nr;

        Assert.Equal(Ioc(read, 0x01, ChipInfoSize), GPIO_GET_CHIPINFO_IOCTL);
        Assert.Equal(Ioc(readWrite, 0x05, LineInfoSize), GPIO_V2_GET_LINEINFO_IOCTL);
        Assert.Equal(Ioc(readWrite, 0x07, LineRequestSize), GPIO_V2_GET_LINE_IOCTL);
        Assert.Equal(Ioc(readWrite, 0x0D, LineConfigSize), GPIO_V2_LINE_SET_CONFIG_IOCTL);
        Assert.Equal(Ioc(readWrite, 0x0E, LineValuesSize), GPIO_V2_LINE_GET_VALUES_IOCTL);
        Assert.Equal(Ioc(readWrite, 0x0F, LineValuesSize), GPIO_V2_LINE_SET_VALUES_IOCTL);

        // The same numbers as libgpiod and the kernel's tools/gpio see them on x86-64 and arm64.
        Assert.Equal(0x8044B401u, GPIO_GET_CHIPINFO_IOCTL);
        Assert.Equal(0xC100B405u, GPIO_V2_GET_LINEINFO_IOCTL);
        Assert.Equal(0xC250B407u, GPIO_V2_GET_LINE_IOCTL);
        Assert.Equal(0xC110B40Du, GPIO_V2_LINE_SET_CONFIG_IOCTL);
        Assert.Equal(0xC010B40Eu, GPIO_V2_LINE_GET_VALUES_IOCTL);
        Assert.Equal(0xC010B40Fu, GPIO_V2_LINE_SET_VALUES_IOCTL);
    }

    [Fact]
    public void Flag_bits_attribute_ids_and_event_ids_are_the_headers()
    {
        ulong[] flags =
        [
            GPIO_V2_LINE_FLAG_USED, GPIO_V2_LINE_FLAG_ACTIVE_LOW, GPIO_V2_LINE_FLAG_INPUT, GPIO_V2_LINE_FLAG_OUTPUT,
            GPIO_V2_LINE_FLAG_EDGE_RISING, GPIO_V2_LINE_FLAG_EDGE_FALLING, GPIO_V2_LINE_FLAG_OPEN_DRAIN,
            GPIO_V2_LINE_FLAG_OPEN_SOURCE, GPIO_V2_LINE_FLAG_BIAS_PULL_UP, GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN,
            GPIO_V2_LINE_FLAG_BIAS_DISABLED,
        ];
        for (int bit = 0; bit < flags.Length; bit++)
            Assert.Equal(1UL << bit, flags[bit]);
        Assert.Equal((1u, 2u, 3u), (GPIO_V2_LINE_ATTR_ID_FLAGS, GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES, GPIO_V2_LINE_ATTR_ID_DEBOUNCE));
        Assert.Equal((1u, 2u), (GPIO_V2_LINE_EVENT_RISING_EDGE, GPIO_V2_LINE_EVENT_FALLING_EDGE));
    }

    [Fact]
    public void An_ioctl_argument_of_16_KiB_or_more_cannot_be_encoded()
    {
        Assert.Equal(0xC000B400u | (16383u << 16), _IOWR(0xB4, 0, 16383));
        Assert.Throws<ArgumentOutOfRangeException>(() => _IOWR(0xB4, 0, 16384));
    }
}
