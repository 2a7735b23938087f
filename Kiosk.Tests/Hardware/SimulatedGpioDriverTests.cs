using Kiosk.Hardware.Gpio;
using Kiosk.Hardware.Simulated;
using Microsoft.Extensions.Time.Testing;

namespace Kiosk.Tests.Hardware;

public sealed class SimulatedGpioDriverTests
{
    private static readonly DateTimeOffset Start = new(2025, 1, 6, 8, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Start);
    private readonly SimulatedGpioChip _chip = new();

    [Fact]
    public async Task A_line_beyond_the_chip_is_refused_with_the_kernels_EINVAL_and_the_chips_range()
    {
        await using var driver = new SimulatedGpioDriver(_chip, _time);

        var ex = Assert.Throws<GpioException>(() => driver.OpenOutput(54, false, false, "test"));

        Assert.Equal(22, ex.Errno);
        Assert.Equal([54], ex.Lines);
        Assert.Equal("/dev/gpiochip0", ex.ChipPath);
        Assert.Equal("line 54 requested but /dev/gpiochip0 (simulated) has 54 lines (0..53) (errno 22: Invalid argument)", ex.Message);
        Assert.Throws<GpioException>(() => driver.OpenInput(-1, false, GpioBias.AsIs, TimeSpan.Zero, "test"));
    }

    [Fact]
    public async Task A_second_request_of_a_line_is_busy_until_the_first_is_released()
    {
        await using var driver = new SimulatedGpioDriver(_chip, _time);
        var first = driver.OpenOutput(17, false, false, "kiosk-lock");

        var ex = Assert.Throws<GpioException>(() => driver.OpenInput(17, false, GpioBias.AsIs, TimeSpan.Zero, "other"));
        Assert.Equal(16, ex.Errno);
        Assert.Equal("line 17 of /dev/gpiochip0 (simulated) is busy: already requested by this process as 'kiosk-lock' (errno 16: Device or resource busy)", ex.Message);

        first.Dispose();
        Assert.Null(_chip.ConsumerOf(17));
        using var again = driver.OpenOutput(17, false, false, "kiosk-lock");
        Assert.Equal("kiosk-lock", _chip.ConsumerOf(17));
    }

    [Fact]
    public async Task Another_process_on_the_same_chip_finds_the_line_busy()
    {
        await using var first = new SimulatedGpioDriver(_chip, _time);
        await using var second = new SimulatedGpioDriver(_chip, _time);
        using var line = first.OpenOutput(5, false, false, "kiosk-lock");

        var ex = Assert.Throws<GpioException>(() => second.OpenOutput(5, false, false, "intruder"));
        Assert.Contains("in use by another process as 'kiosk-lock'", ex.Message);
    }

    [Fact]
    public async Task Every_output_write_is_recorded_with_the_clock_and_the_physical_level()
    {
        await using var driver = new SimulatedGpioDriver(_chip, _time);
        using var led = driver.OpenOutput(22, activeLow: true, initialActive: false, "led");
        Assert.True(_chip.IsHigh(22)); // inactive on an active-low line is high

        _time.Advance(TimeSpan.FromMilliseconds(250));
        led.Set(true);
        _time.Advance(TimeSpan.FromMilliseconds(250));
        led.Set(false);

        Assert.Equal(
        [
            new GpioChange(Start, 22, "led", Active: false, High: true, IsRequest: true),
            new GpioChange(Start.AddMilliseconds(250), 22, "led", Active: true, High: false, IsRequest: false),
            new GpioChange(Start.AddMilliseconds(500), 22, "led", Active: false, High: true, IsRequest: false),
        ], driver.Changes);
        Assert.False(led.IsActive);
    }

    [Fact]
    public async Task An_active_low_button_with_pull_up_idles_inactive_and_reports_press_and_release()
    {
        await using var driver = new SimulatedGpioDriver(_chip, _time);
        using var button = driver.OpenInput(4, activeLow: true, GpioBias.PullUp, TimeSpan.Zero, "button");
        var edges = new List<GpioEdge>();
        button.Changed += edges.Add;
        Assert.True(_chip.IsHigh(4));
        Assert.False(button.IsActive);

        driver.Press(4);
        Assert.False(_chip.IsHigh(4)); // pressed: shorted to ground
        Assert.True(button.IsActive);
        _time.Advance(TimeSpan.FromSeconds(1));
        driver.Release(4);

        Assert.Equal([true, false], edges.Select(e => e.Active));
        Assert.Equal(1_000_000_000, edges[1].TimestampNs - edges[0].TimestampNs);
    }

    [Fact]
    public async Task With_debounce_an_edge_is_reported_once_the_line_is_stable_for_the_period_and_bounces_are_swallowed()
    {
        var debounce = TimeSpan.FromMilliseconds(20);
        await using var driver = new SimulatedGpioDriver(_chip, _time);
        using var button = driver.OpenInput(4, activeLow: true, GpioBias.PullUp, debounce, "button");
        var edges = new List<GpioEdge>();
        button.Changed += edges.Add;

        driver.Press(4);
        _time.Advance(TimeSpan.FromMilliseconds(5));
        driver.Release(4);              // bounce
        _time.Advance(TimeSpan.FromMilliseconds(5));
        driver.Press(4);
        _time.Advance(TimeSpan.FromMilliseconds(19));
        Assert.Empty(edges);
        Assert.False(button.IsActive);  // the debounced value, as the kernel reports it
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Single(edges);
        Assert.True(edges[0].Active);
        Assert.True(button.IsActive);

        driver.Release(4);
        _time.Advance(TimeSpan.FromMilliseconds(3));
        driver.Press(4);                // released for 3 ms only: no edge at all
        _time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Single(edges);
    }

    [Fact]
    public async Task Driving_a_line_that_is_not_an_input_of_this_driver_is_an_error()
    {
        await using var driver = new SimulatedGpioDriver(_chip, _time);
        using var output = driver.OpenOutput(6, false, false, "out");

        Assert.Throws<InvalidOperationException>(() => driver.Press(6));
        Assert.Throws<InvalidOperationException>(() => driver.Press(7));
    }

    [Fact]
    public async Task A_handler_that_throws_does_not_reach_the_code_driving_the_input()
    {
        await using var driver = new SimulatedGpioDriver(_chip, _time);
        using var input = driver.OpenInput(8, false, GpioBias.PullDown, TimeSpan.Zero, "in");
        int calls = 0;
        input.Changed += _ =>
        {
            calls++;
            throw new InvalidOperationException("handler bug");
        };

        driver.Press(8);
        driver.Release(8);
        Assert.Equal(2, calls);
    }

    [Fact]
    public async Task A_crash_releases_every_request_and_a_released_output_returns_to_its_default_level()
    {
        var crashed = new SimulatedGpioDriver(_chip, _time);
        var relay = crashed.OpenOutput(17, false, initialActive: false, "kiosk-lock");
        relay.Set(true);
        Assert.True(_chip.IsHigh(17));

        crashed.SimulateCrash();

        Assert.False(_chip.IsHigh(17));        // pull-down default
        Assert.Null(_chip.ConsumerOf(17));
        var ex = Assert.Throws<GpioException>(() => relay.Set(true)); // a stale timer of the dead process
        Assert.Equal(9, ex.Errno);
        Assert.False(_chip.IsHigh(17));
        await using var restarted = new SimulatedGpioDriver(_chip, _time);
        using var again = restarted.OpenOutput(17, false, false, "kiosk-lock");
        Assert.Equal("kiosk-lock", _chip.ConsumerOf(17));
    }

    [Fact]
    public async Task On_a_chip_that_keeps_the_last_value_a_crashed_output_stays_driven_until_requested_again()
    {
        var chip = new SimulatedGpioChip(onRelease: SimulatedReleaseBehavior.KeepLastValue);
        var crashed = new SimulatedGpioDriver(chip, _time);
        crashed.OpenOutput(17, false, initialActive: true, "kiosk-lock");

        crashed.SimulateCrash();
        Assert.True(chip.IsHigh(17));

        await using var restarted = new SimulatedGpioDriver(chip, _time);
        using var relay = restarted.OpenOutput(17, false, initialActive: false, "kiosk-lock");
        Assert.False(chip.IsHigh(17));
    }

    [Fact]
    public async Task Dispose_releases_the_lines_and_a_crashed_driver_accepts_no_new_requests()
    {
        var driver = new SimulatedGpioDriver(_chip, _time);
        driver.OpenOutput(3, false, true, "a");
        driver.OpenInput(9, false, GpioBias.PullUp, TimeSpan.FromMilliseconds(10), "b");
        await driver.DisposeAsync();
        Assert.Null(_chip.ConsumerOf(3));
        Assert.Null(_chip.ConsumerOf(9));
        Assert.False(_chip.IsHigh(3));
        Assert.Throws<ObjectDisposedException>(() => driver.OpenOutput(3, false, false, "a"));

        var crashed = new SimulatedGpioDriver(_chip, _time);
        crashed.SimulateCrash();
        Assert.Throws<InvalidOperationException>(() => crashed.OpenOutput(3, false, false, "a"));
    }

    [Fact]
    public async Task The_outside_world_driving_a_line_reaches_the_input_that_holds_it()
    {
        await using var driver = new SimulatedGpioDriver(_chip, _time);
        using var contact = driver.OpenInput(27, activeLow: true, GpioBias.PullUp, TimeSpan.Zero, "contact");
        var edges = new List<bool>();
        contact.Changed += e => edges.Add(e.Active);

        _chip.Drive(27, high: false);   // the door closes the reed switch to ground
        _chip.Drive(27, high: null);    // wire cut: the pull-up wins, reads open

        Assert.Equal([true, false], edges);
    }
}
