using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Interop.Gpio;

namespace Kiosk.Tests.Hardware;

/// <summary>
/// The real driver where no GPIO chip exists (this machine and CI have none): it must fail at once, clearly.
/// Its line logic is the simulated driver's; its event thread is tested through a pipe in GpioEventPollerTests.
/// </summary>
public sealed class CharacterDeviceGpioDriverTests
{
    [Fact]
    public void A_missing_chip_is_named_with_the_chips_that_are_there()
    {
        const string path = "/dev/gpiochip9";
        Assert.False(File.Exists(path), $"{path} exists on this machine; the test needs a chip path that does not");

        var ex = Assert.Throws<GpioException>(() => new CharacterDeviceGpioDriver(path));

        Assert.Equal(Libc.ENOENT, ex.Errno);
        Assert.Equal(path, ex.ChipPath);
        Assert.Empty(ex.Lines);
        string chipsHere = GpioChipFile.DescribeChips();
        Assert.Equal($"GPIO chip /dev/gpiochip9 not found; chips here: {chipsHere} (errno 2: No such file or directory)", ex.Message);
        if (!Directory.EnumerateFiles("/dev", "gpiochip*").Any())
            Assert.Equal("none (no /dev/gpiochip* on this machine)", chipsHere);
    }

    [Fact]
    public void A_device_that_is_not_a_GPIO_chip_is_refused_by_name()
    {
        var ex = Assert.Throws<GpioException>(() => new CharacterDeviceGpioDriver("/dev/null"));

        Assert.Equal(Libc.ENOTTY, ex.Errno);
        Assert.StartsWith("/dev/null is not a GPIO character device", ex.Message);
        Assert.Contains("errno 25", ex.Message);
    }

    [Fact]
    public void An_empty_chip_path_is_an_argument_error()
    {
        Assert.Throws<ArgumentException>(() => new CharacterDeviceGpioDriver(" "));
    }
}
