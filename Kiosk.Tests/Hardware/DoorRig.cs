using Kiosk.Hardware.Door;
using Kiosk.Hardware.Simulated;
using Microsoft.Extensions.Time.Testing;

namespace Kiosk.Tests.Hardware;

/// <summary>A door on the simulated driver with a fake clock: relay 17, green 22, red 23, buzzer 24, exit 4, contact 27.</summary>
internal sealed class DoorRig : IAsyncDisposable
{
    public const int Relay = 17, Green = 22, Red = 23, Buzzer = 24, Exit = 4, Contact = 27;
    public static readonly DateTimeOffset Start = new(2025, 1, 6, 8, 0, 0, TimeSpan.Zero);
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(20);

    public DoorRig(DoorOptions? options = null, SimulatedGpioChip? chip = null, FakeTimeProvider? time = null, bool doorClosed = true)
    {
        Time = time ?? new FakeTimeProvider(Start);
        Chip = chip ?? new SimulatedGpioChip();
        if (doorClosed)
            Chip.Drive(Contact, high: false); // the reed switch closed to ground
        Driver = new SimulatedGpioDriver(Chip, Time);
        Door = new DoorController(Driver, options ?? Options(), Time);
        Door.EventRaised += e =>
        {
            lock (Events)
                Events.Add(e);
        };
    }

    public FakeTimeProvider Time { get; }
    public SimulatedGpioChip Chip { get; }
    public SimulatedGpioDriver Driver { get; }
    public DoorController Door { get; }
    public List<DoorEvent> Events { get; } = [];

    public DateTimeOffset Now => Time.GetUtcNow();

    public static DoorOptions Options() => new()
    {
        Driver = DoorOptions.SimulatedDriver,
        LockLine = Relay,
        GreenLedLine = Green,
        RedLedLine = Red,
        BuzzerLine = Buzzer,
        ExitButtonLine = Exit,
        DoorContactLine = Contact,
        Debounce = Debounce,
    };

    /// <summary>Writes to one line after its request: (time since start, active).</summary>
    public IEnumerable<(TimeSpan At, bool Active)> Writes(int line) =>
        Driver.Changes.Where(c => c.Line == line && !c.IsRequest).Select(c => (c.Timestamp - Start, c.Active));

    public DoorEventKind[] Kinds()
    {
        lock (Events)
            return Events.Select(e => e.Kind).ToArray();
    }

    public void Advance(TimeSpan by) => Time.Advance(by);

    /// <summary>
    /// Advances in 1 ms steps. FakeTimeProvider moves to the target time before it runs the timers that fell due,
    /// so a chain of timers (an LED pattern) is only seen at its true instants when the clock walks.
    /// </summary>
    public void Run(TimeSpan by)
    {
        var end = Time.GetUtcNow() + by;
        while (Time.GetUtcNow() < end)
            Time.Advance(TimeSpan.FromMilliseconds(1));
    }

    /// <summary>Presses the exit button and lets the debounce period pass.</summary>
    public void PressExit()
    {
        Driver.Press(Exit);
        Time.Advance(Debounce);
        Driver.Release(Exit);
        Time.Advance(Debounce);
    }

    /// <summary>Opens (or closes) the door and lets the debounce period pass.</summary>
    public void SetDoor(bool closed)
    {
        Driver.SetInput(Contact, active: closed);
        Time.Advance(Debounce);
    }

    public ValueTask DisposeAsync() => DisposeAllAsync();

    private async ValueTask DisposeAllAsync()
    {
        await Door.DisposeAsync();
        await Driver.DisposeAsync();
    }
}
