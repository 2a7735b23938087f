using Kiosk.Hardware.Door;
using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Simulated;
using Microsoft.Extensions.Time.Testing;

namespace Kiosk.Tests.Hardware;

/// <summary>
/// A simulated chip kept in a file (Door:SimulatedStateFile): what a killed process leaves there, and what the next
/// process's chip makes of it. A test process cannot kill itself, so "killed" is a file whose owner is a process that
/// does not run: the file rewritten with another owner, as the dead process left it.
/// </summary>
public sealed class SimulatedChipStateFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("kiosk-chip-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 6, 8, 0, 0, TimeSpan.Zero));

    private string StatePath => Path.Combine(_dir, "gpio.json");

    /// <summary>No process runs with this id: pid_max is at most 2^22.</summary>
    private static readonly SimulatedProcess Dead = new(int.MaxValue, 1);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Every_change_is_in_the_file_with_the_level_and_the_owning_process()
    {
        var chip = new SimulatedGpioChip(stateFile: StatePath);
        Assert.Equal(StatePath, chip.StateFile);
        Assert.All(SimulatedChipStateFile.Read(StatePath), l => Assert.Equal(new SimulatedLineRecord(l.Line, false, false), l)); // written at once

        await using var driver = new SimulatedGpioDriver(chip, _time);
        var relay = driver.OpenOutput(17, false, initialActive: false, "kiosk-lock");
        Assert.Equal(new SimulatedLineRecord(17, false, true, "kiosk-lock", SimulatedProcess.Current), Line(17));
        relay.Set(true);
        Assert.Equal(new SimulatedLineRecord(17, true, true, "kiosk-lock", SimulatedProcess.Current), Line(17));
        using var button = driver.OpenInput(24, activeLow: true, GpioBias.PullUp, TimeSpan.Zero, "kiosk-exit");
        Assert.Equal(new SimulatedLineRecord(24, true, false, "kiosk-exit", SimulatedProcess.Current), Line(24));
        driver.Press(24);
        Assert.False(Line(24).High);

        relay.Dispose();
        Assert.Equal(new SimulatedLineRecord(17, false, false), Line(17)); // released: back to its pull-down
        Assert.Equal(SimulatedGpioChip.DefaultLineCount, SimulatedChipStateFile.Read(StatePath).Count);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public async Task A_killed_owners_lines_return_to_their_default_level_when_the_next_process_makes_its_chip()
    {
        var chip = new SimulatedGpioChip(stateFile: StatePath);
        var driver = new SimulatedGpioDriver(chip, _time);
        driver.OpenOutput(17, false, initialActive: false, "kiosk-lock").Set(true); // mid-pulse: unlocked
        driver.OpenOutput(27, false, initialActive: true, "kiosk-green");
        Kill();
        Assert.True(Line(17).High); // what the dead process left: nobody locked it

        var restarted = new SimulatedGpioChip(stateFile: StatePath);

        Assert.False(restarted.IsHigh(17));
        Assert.Null(restarted.ConsumerOf(17));
        Assert.False(restarted.IsHigh(27));
        Assert.Equal(new SimulatedLineRecord(17, false, false), Line(17)); // and the file says so
        await using var next = new SimulatedGpioDriver(restarted, _time);
        await using var door = new DoorController(next, new DoorOptions { Driver = "simulated", LockLine = 17, GreenLedLine = 27 }, _time);
        Assert.Equal(new SimulatedLineRecord(17, false, true, "kiosk-lock", SimulatedProcess.Current), Line(17));
    }

    [Fact]
    public void On_a_chip_that_keeps_the_last_value_a_killed_owners_output_stays_driven_until_requested_again()
    {
        var chip = new SimulatedGpioChip(stateFile: StatePath);
        var driver = new SimulatedGpioDriver(chip, _time);
        driver.OpenOutput(17, false, initialActive: true, "kiosk-lock");
        Kill();

        var restarted = new SimulatedGpioChip(onRelease: SimulatedReleaseBehavior.KeepLastValue, stateFile: StatePath);

        Assert.True(restarted.IsHigh(17));
        Assert.Null(restarted.ConsumerOf(17));
        Assert.Equal(new SimulatedLineRecord(17, true, true), Line(17));
        var again = new SimulatedGpioChip(onRelease: SimulatedReleaseBehavior.KeepLastValue, stateFile: StatePath);
        Assert.True(again.IsHigh(17)); // still driven, by nobody, in the next process too
        using var relay = new SimulatedGpioDriver(again, _time).OpenOutput(17, false, initialActive: false, "kiosk-lock");
        Assert.False(again.IsHigh(17));
    }

    [Fact]
    public void A_running_owners_lines_stay_busy_at_their_level()
    {
        var chip = new SimulatedGpioChip(stateFile: StatePath);
        new SimulatedGpioDriver(chip, _time).OpenOutput(17, false, initialActive: true, "kiosk-lock");

        var second = new SimulatedGpioChip(stateFile: StatePath); // this process runs: its lines are not released

        Assert.True(second.IsHigh(17));
        Assert.Equal("kiosk-lock", second.ConsumerOf(17));
        var ex = Assert.Throws<GpioException>(() => new SimulatedGpioDriver(second, _time).OpenOutput(17, false, false, "kiosk-lock"));
        Assert.Equal(16, ex.Errno);
        Assert.Contains("in use by another process as 'kiosk-lock'", ex.Message);
    }

    [Fact]
    public void A_recycled_process_id_is_not_taken_for_the_owner()
    {
        var chip = new SimulatedGpioChip(stateFile: StatePath);
        new SimulatedGpioDriver(chip, _time).OpenOutput(17, false, initialActive: true, "kiosk-lock");
        Kill(SimulatedProcess.Current with { StartTime = SimulatedProcess.Current.StartTime - 1 });

        var restarted = new SimulatedGpioChip(stateFile: StatePath);

        Assert.True(SimulatedProcess.Current.IsRunning());
        Assert.False(restarted.IsHigh(17));
        Assert.Null(restarted.ConsumerOf(17));
    }

    [Fact]
    public void A_file_that_is_not_a_chips_state_is_refused_naming_it()
    {
        File.WriteAllText(StatePath, """{"chip": "/dev/gpiochip0"}""");

        var ex = Assert.Throws<InvalidDataException>(() => new SimulatedGpioChip(stateFile: StatePath));
        Assert.StartsWith($"{StatePath} is not a simulated GPIO chip's state file: ", ex.Message);
        File.WriteAllText(StatePath, """{"chip": "/dev/gpiochip0", "lines": [{"line": 60, "high": true, "driven": true}]}""");
        ex = Assert.Throws<InvalidDataException>(() => new SimulatedGpioChip(stateFile: StatePath));
        Assert.Equal($"{StatePath} records line 60, but /dev/gpiochip0 (simulated) has lines 0..53", ex.Message);
    }

    [Fact]
    public void Without_a_state_file_nothing_is_written()
    {
        var chip = new SimulatedGpioChip(stateFile: "");
        using var relay = new SimulatedGpioDriver(chip, _time).OpenOutput(17, false, true, "kiosk-lock");

        Assert.Null(chip.StateFile);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    private SimulatedLineRecord Line(int line) => SimulatedChipStateFile.Read(StatePath).Single(l => l.Line == line);

    /// <summary>The owning process dies: no Dispose runs and the file keeps what it last wrote, owned by a process that
    /// no longer runs.</summary>
    private void Kill(SimulatedProcess? dead = null)
    {
        var lines = SimulatedChipStateFile.Read(StatePath).Select(l => l.Owner is null ? l : l with { Owner = dead ?? Dead }).ToList();
        SimulatedChipStateFile.Write(StatePath, "/dev/gpiochip0", lines);
    }
}
