using Kiosk.Hardware.Gpio;
using Microsoft.Extensions.Options;

namespace Kiosk.Hardware.Door;

/// <summary>
/// The door's wiring and timing; section <c>Door</c> of the settings (each property is the key of the same name,
/// e.g. <c>Door:LockLine</c>; durations as "00:00:03"). Lines are offsets on <see cref="ChipPath"/>; -1 means not
/// fitted. <see cref="Validate"/> throws <see cref="OptionsValidationException"/> listing every problem by key.
/// </summary>
public sealed record DoorOptions
{
    public const string Section = "Door";
    public const string GpioDriver = "gpio";
    public const string SimulatedDriver = "simulated";
    public const int None = -1;

    /// <summary>"gpio" (the kernel's GPIO character device) or "simulated" (in memory, nothing switched).</summary>
    public string Driver { get; init; } = GpioDriver;

    /// <summary>
    /// For the simulated driver: the file its chip keeps the line levels and owners in, so a restarted process finds
    /// what a killed one left (see <see cref="Simulated.SimulatedGpioChip"/>); empty: in memory only. Ignored by "gpio".
    /// </summary>
    public string SimulatedStateFile { get; init; } = "";

    /// <summary>The GPIO chip with the 40-pin header: /dev/gpiochip0 on a Pi 4 (on a Pi 5 gpiochip0 with current kernels, gpiochip4 with early ones: check with gpiodetect).</summary>
    public string ChipPath { get; init; } = "/dev/gpiochip0";

    /// <summary>The lock relay's line: energized (active) = unlocked. Required.</summary>
    public required int LockLine { get; init; }

    /// <summary>True for relay boards that switch on a low input. See the README before choosing this.</summary>
    public bool LockActiveLow { get; init; }

    /// <summary>How long a grant keeps the door unlocked.</summary>
    public TimeSpan UnlockPulse { get; init; } = TimeSpan.FromSeconds(3);

    public int GreenLedLine { get; init; } = None;
    public int RedLedLine { get; init; } = None;
    public int BuzzerLine { get; init; } = None;

    /// <summary>True when the LEDs and buzzer are on at a low level (sinking drivers).</summary>
    public bool IndicatorsActiveLow { get; init; }

    /// <summary>The request-to-exit button; pressed = active.</summary>
    public int ExitButtonLine { get; init; } = None;

    /// <summary>Default true: the button switches the line to ground, against the pull-up.</summary>
    public bool ExitButtonActiveLow { get; init; } = true;

    public GpioBias ExitButtonBias { get; init; } = GpioBias.PullUp;

    /// <summary>The door contact (reed switch); closed door = active.</summary>
    public int DoorContactLine { get; init; } = None;

    /// <summary>Default true: a closed door closes the contact to ground, against the pull-up (a cut wire reads "open").</summary>
    public bool DoorContactActiveLow { get; init; } = true;

    public GpioBias DoorContactBias { get; init; } = GpioBias.PullUp;

    /// <summary>A door open longer than this raises <see cref="DoorEventKind.DoorHeldOpen"/>.</summary>
    public TimeSpan HeldOpenLimit { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// An opening this soon after the lock re-engaged still counts as authorised (the person pulled the door as the
    /// pulse ended); later, an opening while locked is <see cref="DoorEventKind.DoorForced"/>.
    /// </summary>
    public TimeSpan OpenGrace { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The kernel's debounce on the button and contact lines.</summary>
    public TimeSpan Debounce { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How long the green LED stays on after a grant.</summary>
    public TimeSpan GrantedSignal { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the red LED stays on after a denial.</summary>
    public TimeSpan DeniedSignal { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>One beep: a grant gives one, a denial two.</summary>
    public TimeSpan Beep { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>The silence between a denial's two beeps.</summary>
    public TimeSpan BeepGap { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Prefix of the consumer labels <c>gpioinfo</c> shows ("kiosk-lock", "kiosk-exit", …).</summary>
    public string Consumer { get; init; } = "kiosk";

    public static readonly TimeSpan MaxUnlockPulse = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxHeldOpenLimit = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxDebounce = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxSignal = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxBeep = TimeSpan.FromSeconds(5);
    private const int MaxConsumerLength = 20; // + "-contact" stays within the kernel's 31 bytes

    /// <summary>true for <c>Driver = "simulated"</c>.</summary>
    public bool IsSimulated => string.Equals(Driver, SimulatedDriver, StringComparison.OrdinalIgnoreCase);

    /// <summary>The configured lines by key, -1 ones left out: ("Door:LockLine", 17), …</summary>
    public IEnumerable<(string Key, int Line)> ConfiguredLines()
    {
        (string, int)[] all =
        [
            (Key(nameof(LockLine)), LockLine), (Key(nameof(GreenLedLine)), GreenLedLine), (Key(nameof(RedLedLine)), RedLedLine),
            (Key(nameof(BuzzerLine)), BuzzerLine), (Key(nameof(ExitButtonLine)), ExitButtonLine), (Key(nameof(DoorContactLine)), DoorContactLine),
        ];
        return all.Where(l => l.Item2 != None);
    }

    /// <summary>Every problem, each naming its key; empty when valid.</summary>
    public IReadOnlyList<string> GetValidationErrors()
    {
        var errors = new List<string>();
        if (!string.Equals(Driver, GpioDriver, StringComparison.OrdinalIgnoreCase) && !IsSimulated)
            errors.Add($"{Key(nameof(Driver))} is '{Driver}'; it must be '{GpioDriver}' or '{SimulatedDriver}'");
        if (IsSimulated && SimulatedStateFile.Length > 0 && Directory.Exists(SimulatedStateFile))
            errors.Add($"{Key(nameof(SimulatedStateFile))} is {SimulatedStateFile}, which is a directory; it must name a file");
        if (string.IsNullOrWhiteSpace(ChipPath))
            errors.Add($"{Key(nameof(ChipPath))} is empty; it must name the GPIO chip (e.g. /dev/gpiochip0)");

        if (LockLine < 0)
            errors.Add($"{Key(nameof(LockLine))} is {LockLine}; the lock relay line is required (0 or more)");
        foreach (var (key, line) in new[]
                 {
                     (nameof(GreenLedLine), GreenLedLine), (nameof(RedLedLine), RedLedLine), (nameof(BuzzerLine), BuzzerLine),
                     (nameof(ExitButtonLine), ExitButtonLine), (nameof(DoorContactLine), DoorContactLine),
                 })
        {
            if (line < None)
                errors.Add($"{Key(key)} is {line}; it must be a line number (0 or more) or -1 for none");
        }
        var seen = new Dictionary<int, string>();
        foreach (var (key, line) in ConfiguredLines())
        {
            if (line < 0)
                continue;
            if (seen.TryGetValue(line, out string? first))
                errors.Add($"{key} is {line}, the same line as {first}; each role needs its own line");
            else
                seen.Add(line, key);
        }

        Duration(errors, nameof(UnlockPulse), UnlockPulse, TimeSpan.Zero, exclusiveMin: true, MaxUnlockPulse);
        Duration(errors, nameof(HeldOpenLimit), HeldOpenLimit, TimeSpan.Zero, exclusiveMin: true, MaxHeldOpenLimit);
        Duration(errors, nameof(OpenGrace), OpenGrace, TimeSpan.Zero, exclusiveMin: false, MaxSignal);
        Duration(errors, nameof(Debounce), Debounce, TimeSpan.Zero, exclusiveMin: false, MaxDebounce);
        Duration(errors, nameof(GrantedSignal), GrantedSignal, TimeSpan.Zero, exclusiveMin: true, MaxSignal);
        Duration(errors, nameof(DeniedSignal), DeniedSignal, TimeSpan.Zero, exclusiveMin: true, MaxSignal);
        Duration(errors, nameof(Beep), Beep, TimeSpan.Zero, exclusiveMin: true, MaxBeep);
        Duration(errors, nameof(BeepGap), BeepGap, TimeSpan.Zero, exclusiveMin: true, MaxBeep);

        if (!Enum.IsDefined(ExitButtonBias))
            errors.Add($"{Key(nameof(ExitButtonBias))} is {(int)ExitButtonBias}; it must be AsIs, Disabled, PullUp or PullDown");
        if (!Enum.IsDefined(DoorContactBias))
            errors.Add($"{Key(nameof(DoorContactBias))} is {(int)DoorContactBias}; it must be AsIs, Disabled, PullUp or PullDown");

        if (string.IsNullOrWhiteSpace(Consumer) || Consumer.Length > MaxConsumerLength || !Consumer.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            errors.Add($"{Key(nameof(Consumer))} is '{Consumer}'; it must be 1..{MaxConsumerLength} ASCII letters, digits, '-', '_' or '.'");
        return errors;
    }

    /// <exception cref="OptionsValidationException">listing every problem, each naming its key</exception>
    public void Validate()
    {
        var errors = GetValidationErrors();
        if (errors.Count > 0)
            throw new OptionsValidationException(Section, typeof(DoorOptions), errors);
    }

    /// <summary>"Door:LockLine" for nameof(LockLine).</summary>
    public static string Key(string property) => $"{Section}:{property}";

    private static void Duration(List<string> errors, string property, TimeSpan value, TimeSpan min, bool exclusiveMin, TimeSpan max)
    {
        bool low = exclusiveMin ? value <= min : value < min;
        if (low || value > max)
        {
            string range = exclusiveMin ? $"more than {min:c} and at most {max:c}" : $"{min:c} to {max:c}";
            errors.Add($"{Key(property)} is {value:c}; it must be {range}");
        }
    }
}
