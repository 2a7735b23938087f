using Kiosk.Hardware;
using Kiosk.Hardware.Door;
using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Simulated;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Kiosk.Tests.Hardware;

public sealed class HardwareServiceCollectionExtensionsTests
{
    [Fact]
    public async Task The_simulated_door_resolves_locked_and_the_provider_releases_it_on_dispose()
    {
        var services = new ServiceCollection().AddLogging()
            .AddKioskHardware(new DoorOptions { Driver = "simulated", LockLine = 17, ExitButtonLine = 4 });
        var provider = services.BuildServiceProvider();

        var door = provider.GetRequiredService<DoorController>();
        var chip = provider.GetRequiredService<SimulatedGpioChip>();
        Assert.IsType<SimulatedGpioDriver>(provider.GetRequiredService<IGpioDriver>());
        Assert.False(door.IsUnlocked);
        Assert.Equal("kiosk-lock", chip.ConsumerOf(17));

        door.Unlock(null, "granted");
        Assert.True(chip.IsHigh(17));
        await provider.DisposeAsync();

        Assert.False(chip.IsHigh(17));
        Assert.Null(chip.ConsumerOf(17));
        Assert.Null(chip.ConsumerOf(4));
    }

    [Fact]
    public async Task The_simulated_chip_is_kept_in_Door_SimulatedStateFile_when_set()
    {
        string dir = Directory.CreateTempSubdirectory("kiosk-chip-").FullName;
        try
        {
            string file = Path.Combine(dir, "gpio.json");
            await using (var provider = new ServiceCollection()
                             .AddKioskHardware(new DoorOptions { Driver = "simulated", LockLine = 17, SimulatedStateFile = file }).BuildServiceProvider())
            {
                provider.GetRequiredService<DoorController>();
                Assert.Equal(file, provider.GetRequiredService<SimulatedGpioChip>().StateFile);
                Assert.Equal("kiosk-lock", SimulatedChipStateFile.Read(file).Single(l => l.Line == 17).Consumer);
            }
            Assert.Null(SimulatedChipStateFile.Read(file).Single(l => l.Line == 17).Consumer);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task The_gpio_door_on_a_missing_chip_fails_at_resolution_with_the_chip_error()
    {
        var services = new ServiceCollection()
            .AddKioskHardware(new DoorOptions { Driver = "gpio", ChipPath = "/dev/gpiochip9", LockLine = 17 });
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<GpioException>(() => provider.GetRequiredService<DoorController>());
        Assert.StartsWith("GPIO chip /dev/gpiochip9 not found; chips here: ", ex.Message);
    }

    [Fact]
    public void Invalid_options_fail_at_registration()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => new ServiceCollection().AddKioskHardware(new DoorOptions { LockLine = -1 }));
        Assert.Contains("Door:LockLine", ex.Message);
    }
}
