using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

// systemd's share of the project's one Log class. Event ids 4100-4199 are the systemd notifier's.
internal static partial class Log
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug,
        Message = "systemd notify socket {SocketAddress}; watchdog timeout {WatchdogInterval} (null: none)")]
    public static partial void SystemdNotifySocket(ILogger logger, string socketAddress, TimeSpan? watchdogInterval);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug,
        Message = "systemd's watchdog is set for process {WatchdogPid}, not this one ({ProcessId}): not pinging it")]
    public static partial void SystemdWatchdogForOtherProcess(ILogger logger, int watchdogPid, int processId);
}
