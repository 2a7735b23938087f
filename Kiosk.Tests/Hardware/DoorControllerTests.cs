using Kiosk.Hardware.Door;
using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Simulated;
using Microsoft.Extensions.Time.Testing;
using static Kiosk.Tests.Hardware.DoorRig;

namespace Kiosk.Tests.Hardware;

public sealed class DoorControllerTests
{
    private static readonly TimeSpan Pulse = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    [Fact]
    public async Task The_relay_is_the_first_line_requested_and_it_is_requested_locked()
    {
        await using var rig = new DoorRig();

        var first = rig.Driver.Changes[0];
        Assert.Equal(new GpioChange(Start, Relay, "kiosk-lock", Active: false, High: false, IsRequest: true), first);
        Assert.False(rig.Door.IsUnlocked);
        Assert.False(rig.Chip.IsHigh(Relay));
        Assert.Empty(rig.Writes(Relay));
        Assert.Equal(true, rig.Door.IsDoorClosed);
        Assert.Empty(rig.Events);
    }

    [Fact]
    public async Task An_unlock_energizes_the_relay_for_exactly_the_configured_pulse()
    {
        await using var rig = new DoorRig();

        rig.Door.Unlock(null, "granted: person 42");
        Assert.True(rig.Chip.IsHigh(Relay));
        Assert.Equal(Start + Pulse, rig.Door.UnlockedUntil);
        rig.Advance(Pulse - Tick);
        Assert.True(rig.Door.IsUnlocked);
        rig.Advance(Tick);

        Assert.False(rig.Door.IsUnlocked);
        Assert.False(rig.Chip.IsHigh(Relay));
        Assert.Equal([(TimeSpan.Zero, true), (Pulse, false)], rig.Writes(Relay));
        Assert.Equal([DoorEventKind.Unlocked, DoorEventKind.Locked], rig.Kinds());
        Assert.Equal("granted: person 42, 3 s", rig.Events[0].Detail);
        Assert.Equal(("pulse ended", Start + Pulse), (rig.Events[1].Detail, rig.Events[1].TimestampUtc));
    }

    [Fact]
    public async Task An_explicit_pulse_overrides_the_configured_one()
    {
        await using var rig = new DoorRig();

        rig.Door.Unlock(TimeSpan.FromSeconds(10), "operator");
        rig.Advance(TimeSpan.FromSeconds(10));

        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromSeconds(10), false)], rig.Writes(Relay));
        Assert.Throws<ArgumentOutOfRangeException>(() => rig.Door.Unlock(TimeSpan.Zero, "nothing"));
        Assert.Throws<ArgumentOutOfRangeException>(() => rig.Door.Unlock(TimeSpan.FromHours(1), "too long"));
        Assert.Throws<ArgumentException>(() => rig.Door.Unlock(null, " "));
    }

    [Fact]
    public async Task A_second_unlock_while_open_extends_the_pulse_from_now_and_does_not_stack()
    {
        await using var rig = new DoorRig();

        rig.Door.Unlock(null, "first");
        rig.Advance(TimeSpan.FromSeconds(2));
        rig.Door.Unlock(null, "second");              // ends at 5 s, not 6 s
        rig.Advance(TimeSpan.FromSeconds(1));
        rig.Door.Unlock(TimeSpan.FromSeconds(1), "short"); // would end at 4 s: the later end (5 s) stays
        rig.Advance(TimeSpan.FromSeconds(2) - Tick);
        Assert.True(rig.Door.IsUnlocked);
        rig.Advance(Tick);

        Assert.False(rig.Door.IsUnlocked);
        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromSeconds(5), false)], rig.Writes(Relay));
        Assert.Equal([DoorEventKind.Unlocked, DoorEventKind.Unlocked, DoorEventKind.Unlocked, DoorEventKind.Locked], rig.Kinds());
    }

    [Fact]
    public async Task Lock_ends_a_pulse_at_once()
    {
        await using var rig = new DoorRig();
        rig.Door.Unlock(null, "granted");
        rig.Advance(TimeSpan.FromSeconds(1));

        rig.Door.Lock("lockdown");
        rig.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromSeconds(1), false)], rig.Writes(Relay));
        Assert.Equal("lockdown", rig.Events[^1].Detail);
    }

    [Fact]
    public async Task Dispose_mid_pulse_locks_before_releasing_the_line()
    {
        var rig = new DoorRig();
        rig.Door.Unlock(null, "granted");
        rig.Advance(TimeSpan.FromSeconds(1));

        await rig.Door.DisposeAsync();

        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromSeconds(1), false)], rig.Writes(Relay));
        Assert.False(rig.Chip.IsHigh(Relay));
        Assert.Null(rig.Chip.ConsumerOf(Relay));
        Assert.Null(rig.Chip.ConsumerOf(Contact));
        Assert.Equal((DoorEventKind.Locked, "controller stopped"), (rig.Events[^1].Kind, rig.Events[^1].Detail));
        rig.Advance(TimeSpan.FromSeconds(10)); // the pulse's timer does nothing any more
        Assert.Equal(2, rig.Writes(Relay).Count());
        Assert.Throws<ObjectDisposedException>(() => rig.Door.Unlock(null, "late"));
        await rig.Door.DisposeAsync(); // twice is harmless
        await rig.DisposeAsync();
    }

    [Fact]
    public async Task On_a_chip_that_keeps_the_last_value_Dispose_still_leaves_the_relay_locked()
    {
        var rig = new DoorRig(chip: new SimulatedGpioChip(onRelease: SimulatedReleaseBehavior.KeepLastValue));
        rig.Door.Unlock(null, "granted");

        await rig.DisposeAsync();

        Assert.False(rig.Chip.IsHigh(Relay));
    }

    [Fact]
    public async Task The_exit_button_unlocks_for_the_configured_pulse()
    {
        await using var rig = new DoorRig();

        rig.Driver.Press(Exit);
        Assert.False(rig.Door.IsUnlocked); // not before the debounce period
        rig.Advance(Debounce);
        Assert.True(rig.Door.IsUnlocked);
        rig.Driver.Release(Exit);
        rig.Advance(Pulse);

        Assert.Equal([(Debounce, true), (Debounce + Pulse, false)], rig.Writes(Relay));
        Assert.Equal("exit button, 3 s", rig.Events[0].Detail);
    }

    [Fact]
    public async Task Opening_the_door_while_locked_with_no_grant_raises_DoorForced()
    {
        await using var rig = new DoorRig();

        rig.SetDoor(closed: false);
        rig.Advance(TimeSpan.FromSeconds(4));
        rig.SetDoor(closed: true);

        Assert.Equal([DoorEventKind.DoorForced, DoorEventKind.DoorClosed], rig.Kinds());
        Assert.True(rig.Events[0].IsAlarm);
        Assert.Equal("door opened while locked; no unlock since start", rig.Events[0].Detail);
        Assert.Equal(Start + Debounce, rig.Events[0].TimestampUtc);
        Assert.Equal("after 4.02 s", rig.Events[1].Detail); // opened and closed each a debounce period after the contact moved
    }

    [Fact]
    public async Task Opening_during_a_grant_or_just_after_it_is_authorised_and_later_it_is_forced()
    {
        await using var rig = new DoorRig();

        rig.Door.Unlock(null, "granted: person 7");
        rig.SetDoor(closed: false);
        rig.SetDoor(closed: true);
        rig.Advance(Pulse);                            // relocked at 3 s
        rig.Advance(TimeSpan.FromSeconds(1));
        rig.SetDoor(closed: false);                    // 1 s after relocking: within the 2 s grace
        rig.SetDoor(closed: true);
        rig.Advance(TimeSpan.FromSeconds(2));
        rig.SetDoor(closed: false);                    // 3 s after: forced

        Assert.Equal(
        [
            DoorEventKind.Unlocked, DoorEventKind.DoorOpened, DoorEventKind.DoorClosed, DoorEventKind.Locked,
            DoorEventKind.DoorOpened, DoorEventKind.DoorClosed, DoorEventKind.DoorForced,
        ], rig.Kinds());
        Assert.Equal("while unlocked (granted: person 7)", rig.Events[1].Detail);
        Assert.Equal("1.02 s after relocking (granted: person 7), within Door:OpenGrace", rig.Events[4].Detail);
        Assert.Contains("last unlock ended", rig.Events[6].Detail);
    }

    [Fact]
    public async Task A_door_left_open_past_the_limit_raises_DoorHeldOpen_once()
    {
        await using var rig = new DoorRig();
        rig.Door.Unlock(null, "granted");
        rig.SetDoor(closed: false);

        rig.Advance(TimeSpan.FromSeconds(30) - Tick);
        Assert.DoesNotContain(DoorEventKind.DoorHeldOpen, rig.Kinds());
        rig.Advance(Tick);
        rig.Advance(TimeSpan.FromMinutes(5));
        rig.SetDoor(closed: true);

        var kinds = rig.Kinds();
        Assert.Single(kinds, k => k == DoorEventKind.DoorHeldOpen);
        var heldOpen = rig.Events.Single(e => e.Kind == DoorEventKind.DoorHeldOpen);
        Assert.Equal(Start + Debounce + TimeSpan.FromSeconds(30), heldOpen.TimestampUtc);
        Assert.Equal("open for 30 s, limit 30 s", heldOpen.Detail);
        Assert.Equal("after 330.02 s, beyond the held-open limit", rig.Events[^1].Detail);
        Assert.Equal(DoorEventKind.DoorClosed, kinds[^1]);
    }

    [Fact]
    public async Task A_door_open_at_start_up_counts_as_open_from_then_on()
    {
        await using var rig = new DoorRig(doorClosed: false);

        Assert.Equal(false, rig.Door.IsDoorClosed);
        rig.Advance(TimeSpan.FromSeconds(30));

        Assert.Equal([DoorEventKind.DoorHeldOpen], rig.Kinds());
    }

    [Fact]
    public async Task A_grant_lights_green_and_beeps_once()
    {
        await using var rig = new DoorRig();

        rig.Door.SignalGranted();
        rig.Run(TimeSpan.FromSeconds(5));

        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromSeconds(2), false)], rig.Writes(Green));
        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromMilliseconds(150), false)], rig.Writes(Buzzer));
        Assert.Empty(rig.Writes(Red));
    }

    [Fact]
    public async Task A_denial_lights_red_and_beeps_twice()
    {
        await using var rig = new DoorRig();

        rig.Door.SignalDenied();
        rig.Run(TimeSpan.FromSeconds(5));

        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromSeconds(2), false)], rig.Writes(Red));
        Assert.Equal(
        [
            (TimeSpan.Zero, true), (TimeSpan.FromMilliseconds(150), false),
            (TimeSpan.FromMilliseconds(250), true), (TimeSpan.FromMilliseconds(400), false),
        ], rig.Writes(Buzzer));
        Assert.Empty(rig.Writes(Green));
        Assert.Empty(rig.Writes(Relay)); // feedback never touches the lock
    }

    [Fact]
    public async Task A_grant_during_a_denial_switches_red_off_and_restarts_the_buzzer()
    {
        await using var rig = new DoorRig(DoorRig.Options() with { Beep = TimeSpan.FromMilliseconds(100), BeepGap = TimeSpan.FromMilliseconds(50) });

        rig.Door.SignalDenied();
        rig.Run(TimeSpan.FromMilliseconds(120));         // first beep over, in the gap
        rig.Door.SignalGranted();
        rig.Run(TimeSpan.FromSeconds(5));

        var at = TimeSpan.FromMilliseconds(120);
        Assert.Equal([(TimeSpan.Zero, true), (at, false)], rig.Writes(Red));
        Assert.Equal([(at, true), (at + TimeSpan.FromSeconds(2), false)], rig.Writes(Green));
        // denial: on 0, off 100; grant at 120: on, off 100 ms later; the denial's second beep never sounds
        Assert.Equal([(TimeSpan.Zero, true), (TimeSpan.FromMilliseconds(100), false), (at, true), (at + TimeSpan.FromMilliseconds(100), false)],
            rig.Writes(Buzzer));
    }

    [Fact]
    public async Task Dispose_switches_the_indicators_off()
    {
        var rig = new DoorRig();
        rig.Door.SignalGranted();

        await rig.DisposeAsync();

        Assert.False(rig.Chip.IsHigh(Green));
        Assert.False(rig.Chip.IsHigh(Buzzer));
        Assert.Equal((TimeSpan.Zero, false), rig.Writes(Green).Last());
    }

    [Fact]
    public async Task Without_indicators_button_or_contact_the_door_still_works()
    {
        await using var rig = new DoorRig(new DoorOptions { Driver = "simulated", LockLine = 5 });

        rig.Door.SignalGranted();
        rig.Door.SignalDenied();
        rig.Door.Unlock(null, "granted");
        rig.Advance(Pulse);

        Assert.Null(rig.Door.IsDoorClosed);
        Assert.Equal([5], rig.Driver.Changes.Select(c => c.Line).Distinct());
        Assert.Equal([(TimeSpan.Zero, true), (Pulse, false)], rig.Writes(5));
    }

    [Fact]
    public void A_lock_line_beyond_the_chip_is_refused_with_the_key_and_the_chips_range()
    {
        var chip = new SimulatedGpioChip();
        var driver = new SimulatedGpioDriver(chip);

        var ex = Assert.Throws<GpioException>(() => new DoorController(driver, DoorRig.Options() with { LockLine = 60 }));

        Assert.Equal("Door:LockLine is 60: line 60 requested but /dev/gpiochip0 (simulated) has 54 lines (0..53) (errno 22: Invalid argument)", ex.Message);
        Assert.Equal([60], ex.Lines);
        for (int line = 0; line < chip.LineCount; line++)
            Assert.Null(chip.ConsumerOf(line));
    }

    [Fact]
    public void A_bad_input_line_fails_the_start_with_its_key_and_leaves_the_relay_locked_and_released()
    {
        var chip = new SimulatedGpioChip(onRelease: SimulatedReleaseBehavior.KeepLastValue);
        var driver = new SimulatedGpioDriver(chip);

        var ex = Assert.Throws<GpioException>(() => new DoorController(driver, DoorRig.Options() with { DoorContactLine = 99 }));

        Assert.StartsWith("Door:DoorContactLine is 99: line 99 requested but /dev/gpiochip0 (simulated) has 54 lines (0..53)", ex.Message);
        Assert.Equal([(false, true), (false, false)], driver.Changes.Where(c => c.Line == Relay).Select(c => (c.Active, c.IsRequest)));
        Assert.False(chip.IsHigh(Relay));
        Assert.Null(chip.ConsumerOf(Relay));
        Assert.Null(chip.ConsumerOf(Exit));
        Assert.Null(chip.ConsumerOf(Green));
    }

    [Fact]
    public async Task A_line_held_by_another_process_is_reported_as_busy_with_its_key()
    {
        var chip = new SimulatedGpioChip();
        await using var other = new SimulatedGpioDriver(chip);
        using var held = other.OpenOutput(Buzzer, false, false, "someone-else");

        var ex = Assert.Throws<GpioException>(() => new DoorController(new SimulatedGpioDriver(chip), DoorRig.Options()));

        Assert.Equal(16, ex.Errno);
        Assert.StartsWith("Door:BuzzerLine is 24: line 24 of /dev/gpiochip0 (simulated) is busy: in use by another process as 'someone-else'", ex.Message);
    }

    [Fact]
    public async Task A_crash_mid_pulse_then_a_restart_leaves_the_relay_locked()
    {
        var time = new FakeTimeProvider(Start);
        var chip = new SimulatedGpioChip(); // returns released lines to their pull: low, i.e. locked
        var crashed = new DoorRig(chip: chip, time: time);
        crashed.Door.Unlock(TimeSpan.FromSeconds(10), "granted");
        Assert.True(chip.IsHigh(Relay));

        crashed.Driver.SimulateCrash();                 // no Dispose, no finally: the kernel releases the requests
        Assert.False(chip.IsHigh(Relay));
        Assert.Null(chip.ConsumerOf(Relay));

        await using var restarted = new DoorRig(chip: chip, time: time, doorClosed: false);
        Assert.False(restarted.Door.IsUnlocked);
        Assert.False(chip.IsHigh(Relay));
        Assert.Equal((Relay, false, true), (restarted.Driver.Changes[0].Line, restarted.Driver.Changes[0].Active, restarted.Driver.Changes[0].IsRequest));
        Assert.Equal(true, restarted.Door.IsDoorClosed); // the door's state survived, as the real door would

        time.Advance(TimeSpan.FromSeconds(20));         // the dead process's timer fires into a dead request
        Assert.False(chip.IsHigh(Relay));
        restarted.Door.Unlock(null, "granted after restart");
        Assert.True(chip.IsHigh(Relay));
    }

    [Fact]
    public async Task A_crash_on_a_chip_that_keeps_the_last_value_is_locked_by_the_restart_first_thing()
    {
        var time = new FakeTimeProvider(Start);
        var chip = new SimulatedGpioChip(onRelease: SimulatedReleaseBehavior.KeepLastValue);
        var crashed = new DoorRig(chip: chip, time: time);
        crashed.Door.Unlock(TimeSpan.FromSeconds(10), "granted");

        crashed.Driver.SimulateCrash();
        Assert.True(chip.IsHigh(Relay)); // the window the README warns about: unlocked until the restart

        await using var restarted = new DoorRig(chip: chip, time: time, doorClosed: false);
        Assert.False(chip.IsHigh(Relay));
        Assert.Equal(Relay, restarted.Driver.Changes[0].Line);
    }

    [Fact]
    public async Task Concurrent_unlocks_from_many_threads_energize_once_and_lock_once()
    {
        await using var rig = new DoorRig();
        const int threads = 8, perThread = 200;
        using var go = new Barrier(threads);

        var workers = Enumerable.Range(0, threads).Select(t => Task.Factory.StartNew(() =>
        {
            go.SignalAndWait();
            for (int i = 0; i < perThread; i++)
            {
                rig.Door.Unlock(null, $"thread {t}");
                if (i % 10 == 0)
                    rig.Door.SignalGranted();
                if (t == 0 && i % 50 == 0)
                    rig.Driver.Press(Exit);
                if (t == 0 && i % 50 == 25)
                    rig.Driver.Release(Exit);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(workers);

        Assert.True(rig.Door.IsUnlocked);
        rig.Advance(Pulse);
        Assert.False(rig.Door.IsUnlocked);
        Assert.Equal([(TimeSpan.Zero, true), (Pulse, false)], rig.Writes(Relay));
        var kinds = rig.Kinds();
        Assert.Equal(threads * perThread, kinds.Count(k => k == DoorEventKind.Unlocked));
        Assert.Equal(DoorEventKind.Locked, kinds[^1]);
        Assert.Single(kinds, k => k == DoorEventKind.Locked);
    }

    [Fact]
    public async Task A_grant_from_one_thread_and_a_timer_lock_from_another_never_leave_the_state_and_the_relay_apart()
    {
        await using var rig = new DoorRig();
        var stop = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);

        var granting = Task.Factory.StartNew(() =>
        {
            while (DateTime.UtcNow < stop)
                rig.Door.Unlock(TimeSpan.FromMilliseconds(5), "granted");
        }, TaskCreationOptions.LongRunning);
        var clock = Task.Factory.StartNew(() =>
        {
            while (DateTime.UtcNow < stop)
                rig.Advance(TimeSpan.FromMilliseconds(1));
        }, TaskCreationOptions.LongRunning);
        await Task.WhenAll(granting, clock);
        rig.Advance(TimeSpan.FromSeconds(1));

        Assert.False(rig.Door.IsUnlocked);
        Assert.False(rig.Chip.IsHigh(Relay));
        var writes = rig.Writes(Relay).Select(w => w.Active).ToArray();
        Assert.NotEmpty(writes);
        for (int i = 0; i < writes.Length; i++)
            Assert.Equal(i % 2 == 0, writes[i]); // strictly alternating: never two energizes or two releases in a row
    }

    [Fact]
    public async Task A_handler_that_throws_does_not_stop_the_door()
    {
        await using var rig = new DoorRig();
        rig.Door.EventRaised += _ => throw new InvalidOperationException("database down");

        rig.Door.Unlock(null, "granted");
        rig.Advance(Pulse);

        Assert.Equal([(TimeSpan.Zero, true), (Pulse, false)], rig.Writes(Relay));
        Assert.Equal([DoorEventKind.Unlocked, DoorEventKind.Locked], rig.Kinds());
    }

    [Fact]
    public async Task A_relay_that_fails_to_lock_is_retried_every_second_until_it_locks()
    {
        var time = new FakeTimeProvider(Start);
        var chip = new SimulatedGpioChip();
        await using var inner = new SimulatedGpioDriver(chip, time);
        var flaky = new FlakyDriver(inner, failingLockWrites: 2);
        var door = new DoorController(flaky, new DoorOptions { Driver = "simulated", LockLine = Relay }, time);

        door.Unlock(null, "granted");
        time.Advance(Pulse);                         // fails
        Assert.True(door.IsUnlocked);
        time.Advance(TimeSpan.FromSeconds(1));       // fails
        Assert.True(chip.IsHigh(Relay));
        time.Advance(TimeSpan.FromSeconds(1));       // locks

        Assert.False(door.IsUnlocked);
        Assert.False(chip.IsHigh(Relay));
        Assert.Equal(Pulse + TimeSpan.FromSeconds(2), inner.Changes[^1].Timestamp - Start);
        await door.DisposeAsync();
    }

    [Fact]
    public async Task With_the_system_clock_a_pulse_ends_by_itself_and_dispose_waits_for_the_timers()
    {
        var chip = new SimulatedGpioChip();
        await using var driver = new SimulatedGpioDriver(chip);
        var door = new DoorController(driver, new DoorOptions { Driver = "simulated", LockLine = Relay });

        door.Unlock(TimeSpan.FromMilliseconds(50), "granted");
        var until = door.UnlockedUntil;
        Assert.True(chip.IsHigh(Relay));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (door.IsUnlocked && DateTime.UtcNow < deadline)
            await Task.Delay(10);

        Assert.False(door.IsUnlocked);
        Assert.False(chip.IsHigh(Relay));
        var relay = driver.Changes.Where(c => c.Line == Relay && !c.IsRequest).ToArray();
        Assert.Equal([true, false], relay.Select(c => c.Active));
        Assert.True(relay[1].Timestamp >= until, $"locked at {relay[1].Timestamp:O}, before the pulse's end {until:O}");
        await door.DisposeAsync();
        Assert.Null(chip.ConsumerOf(Relay));
    }

    /// <summary>Passes through to a simulated driver, failing the first writes of "locked" to the relay.</summary>
    private sealed class FlakyDriver(SimulatedGpioDriver inner, int failingLockWrites) : IGpioDriver
    {
        private int _failures = failingLockWrites;

        public string ChipPath => inner.ChipPath;

        public IGpioOutput OpenOutput(int line, bool activeLow, bool initialActive, string consumer) =>
            new Output(this, inner.OpenOutput(line, activeLow, initialActive, consumer));

        public IGpioInput OpenInput(int line, bool activeLow, GpioBias bias, TimeSpan debounce, string consumer) =>
            inner.OpenInput(line, activeLow, bias, debounce, consumer);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private sealed class Output(FlakyDriver driver, IGpioOutput output) : IGpioOutput
        {
            public int Line => output.Line;
            public bool IsActive => output.IsActive;

            public void Set(bool active)
            {
                if (!active && driver._failures > 0)
                {
                    driver._failures--;
                    throw new GpioException($"setting line {Line} failed", 5, driver.ChipPath, [Line]);
                }
                output.Set(active);
            }

            public void Dispose() => output.Dispose();
        }
    }
}
