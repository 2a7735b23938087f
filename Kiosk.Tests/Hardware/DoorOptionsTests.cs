using Kiosk.Hardware.Door;
using Kiosk.Hardware.Gpio;
using Microsoft.Extensions.Options;

namespace Kiosk.Tests.Hardware;

public sealed class DoorOptionsTests
{
    private static DoorOptions Valid() => new() { LockLine = 17 };

    [Fact]
    public void The_defaults_with_a_lock_line_are_valid()
    {
        var options = Valid();

        Assert.Empty(options.GetValidationErrors());
        Assert.Equal(TimeSpan.FromSeconds(3), options.UnlockPulse);
        Assert.Equal(TimeSpan.FromSeconds(30), options.HeldOpenLimit);
        Assert.Equal("gpio", options.Driver);
        Assert.Equal([("Door:LockLine", 17)], options.ConfiguredLines());
    }

    [Fact]
    public void Every_problem_is_reported_at_once_each_naming_its_key()
    {
        var options = new DoorOptions
        {
            Driver = "gpoi",
            ChipPath = "",
            LockLine = -1,
            GreenLedLine = -2,
            UnlockPulse = TimeSpan.Zero,
            HeldOpenLimit = TimeSpan.FromHours(2),
            Debounce = TimeSpan.FromMilliseconds(-1),
            Beep = TimeSpan.Zero,
            ExitButtonBias = (GpioBias)9,
            Consumer = "kiosk door",
        };

        var ex = Assert.Throws<OptionsValidationException>(options.Validate);

        Assert.Equal("Door", ex.OptionsName);
        Assert.Equal(
        [
            "Door:Driver is 'gpoi'; it must be 'gpio' or 'simulated'",
            "Door:ChipPath is empty; it must name the GPIO chip (e.g. /dev/gpiochip0)",
            "Door:LockLine is -1; the lock relay line is required (0 or more)",
            "Door:GreenLedLine is -2; it must be a line number (0 or more) or -1 for none",
            "Door:UnlockPulse is 00:00:00; it must be more than 00:00:00 and at most 00:05:00",
            "Door:HeldOpenLimit is 02:00:00; it must be more than 00:00:00 and at most 01:00:00",
            "Door:Debounce is -00:00:00.0010000; it must be 00:00:00 to 00:00:01",
            "Door:Beep is 00:00:00; it must be more than 00:00:00 and at most 00:00:05",
            "Door:ExitButtonBias is 9; it must be AsIs, Disabled, PullUp or PullDown",
            "Door:Consumer is 'kiosk door'; it must be 1..20 ASCII letters, digits, '-', '_' or '.'",
        ], ex.Failures);
    }

    [Fact]
    public void Two_roles_on_one_line_are_refused_naming_both_keys()
    {
        var options = Valid() with { RedLedLine = 17, ExitButtonLine = 4, DoorContactLine = 4 };

        Assert.Equal(
        [
            "Door:RedLedLine is 17, the same line as Door:LockLine; each role needs its own line",
            "Door:DoorContactLine is 4, the same line as Door:ExitButtonLine; each role needs its own line",
        ], options.GetValidationErrors());
    }

    [Fact]
    public void The_driver_kind_is_case_insensitive()
    {
        Assert.True((Valid() with { Driver = "Simulated" }).IsSimulated);
        Assert.Empty((Valid() with { Driver = "GPIO" }).GetValidationErrors());
    }

    [Fact]
    public void A_simulated_state_file_that_is_a_directory_is_refused_naming_the_key()
    {
        string dir = Path.GetTempPath();

        Assert.Equal([$"Door:SimulatedStateFile is {dir}, which is a directory; it must name a file"],
            (Valid() with { Driver = "simulated", SimulatedStateFile = dir }).GetValidationErrors());
        Assert.Empty((Valid() with { SimulatedStateFile = dir }).GetValidationErrors()); // not used by the gpio driver
        Assert.Empty((Valid() with { Driver = "simulated", SimulatedStateFile = Path.Combine(dir, "gpio.json") }).GetValidationErrors());
    }
}
