using Microsoft.Extensions.Logging;

namespace Kiosk.Hardware;

// Kiosk.Hardware's one Log class. Event ids 4000-4099: 4000-4029 GPIO drivers, 4030-4059 the door.
internal static partial class Log
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "GPIO chip {ChipPath} opened: {ChipName} ({ChipLabel}), {LineCount} lines")]
    public static partial void GpioChipOpened(ILogger logger, string chipPath, string chipName, string chipLabel, int lineCount);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Debug,
        Message = "GPIO {ChipPath} line {Line} requested as {Direction} by '{Consumer}'")]
    public static partial void GpioLineRequested(ILogger logger, string chipPath, int line, string direction, string consumer);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "GPIO {ChipPath} line {Line} released")]
    public static partial void GpioLineReleased(ILogger logger, string chipPath, int line);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Critical,
        Message = "The GPIO edge-event thread of {ChipPath} stopped: inputs on this chip report nothing until restart")]
    public static partial void GpioEventThreadFailed(ILogger logger, Exception exception, string chipPath);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Error,
        Message = "GPIO {ChipPath} line {Line} is no longer polled for edges: {Reason}")]
    public static partial void GpioLineDropped(ILogger logger, int line, string chipPath, string reason);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Error, Message = "A handler of GPIO {ChipPath} line {Line} edges threw")]
    public static partial void GpioEdgeHandlerFailed(ILogger logger, Exception exception, int line, string chipPath);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Information,
        Message = "Simulated GPIO {ChipPath} line {Line} ('{Consumer}') output -> {State} (level {Level})")]
    public static partial void SimulatedOutputChanged(ILogger logger, string chipPath, int line, string consumer, string state, int level);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information,
        Message = "Simulated GPIO {ChipPath} line {Line} ('{Consumer}') input edge -> {State}")]
    public static partial void SimulatedInputEdge(ILogger logger, string chipPath, int line, string consumer, string state);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning,
        Message = "Simulated GPIO {ChipPath}: the owning process 'crashed'; {Count} line requests released by the kernel")]
    public static partial void SimulatedCrash(ILogger logger, string chipPath, int count);

    [LoggerMessage(EventId = 4030, Level = LogLevel.Information,
        Message = "Door ready on {ChipPath}: lock relay line {LockLine} (locked), exit button line {ExitLine}, door contact line {ContactLine}")]
    public static partial void DoorStarted(ILogger logger, string chipPath, int lockLine, int exitLine, int contactLine);

    [LoggerMessage(EventId = 4031, Level = LogLevel.Warning,
        Message = "Door:Driver is 'simulated': no real door is controlled")]
    public static partial void DoorSimulated(ILogger logger);

    [LoggerMessage(EventId = 4032, Level = LogLevel.Information, Message = "Door unlocked for {Pulse} ({Reason})")]
    public static partial void DoorUnlocked(ILogger logger, TimeSpan pulse, string reason);

    [LoggerMessage(EventId = 4033, Level = LogLevel.Information, Message = "Door unlock extended to {Until:O} ({Reason})")]
    public static partial void DoorUnlockExtended(ILogger logger, DateTimeOffset until, string reason);

    [LoggerMessage(EventId = 4034, Level = LogLevel.Information, Message = "Door locked ({Reason})")]
    public static partial void DoorLocked(ILogger logger, string reason);

    [LoggerMessage(EventId = 4035, Level = LogLevel.Critical,
        Message = "Locking the door failed (relay line {Line}); retrying in {Retry}")]
    public static partial void DoorLockFailed(ILogger logger, Exception exception, int line, TimeSpan retry);

    [LoggerMessage(EventId = 4040, Level = LogLevel.Critical,
        Message = "Locking the door on stop failed (relay line {Line}); the line is released as it is")]
    public static partial void DoorLockOnStopFailed(ILogger logger, Exception exception, int line);

    [LoggerMessage(EventId = 4036, Level = LogLevel.Warning, Message = "Door alarm {Kind}: {Detail}")]
    public static partial void DoorAlarm(ILogger logger, string kind, string detail);

    [LoggerMessage(EventId = 4037, Level = LogLevel.Error, Message = "A door event handler threw on {Kind}")]
    public static partial void DoorEventHandlerFailed(ILogger logger, Exception exception, string kind);

    [LoggerMessage(EventId = 4038, Level = LogLevel.Error, Message = "Door {Role} output (line {Line}) failed")]
    public static partial void DoorOutputFailed(ILogger logger, Exception exception, string role, int line);

    [LoggerMessage(EventId = 4039, Level = LogLevel.Error, Message = "The exit button could not unlock the door")]
    public static partial void DoorExitFailed(ILogger logger, Exception exception);
}
