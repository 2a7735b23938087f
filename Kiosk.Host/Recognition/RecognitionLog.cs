using Microsoft.Extensions.Logging;

namespace Kiosk.Host;

internal static partial class Log
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Granted {Name} (person {PersonId}), score {Score:F3} by the {Tier} tier, {LatencyMs:F0} ms after the face was first seen")]
    public static partial void Granted(ILogger logger, string name, long personId, float score, string tier, double latencyMs);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Denied: {Reason} ({LatencyMs:F0} ms after the face was first seen)")]
    public static partial void Denied(ILogger logger, string reason, double latencyMs);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "Person {PersonId} granted moments ago: no second pulse")]
    public static partial void CooldownSuppressed(ILogger logger, long personId);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Gallery changed on disk: reloaded, {People} people")]
    public static partial void GalleryReloaded(ILogger logger, int people);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Critical, Message = "The kiosk cannot go on; stopping so that systemd restarts it")]
    public static partial void ServiceFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Critical,
        Message = "The kiosk cannot run as configured, and restarting will not help: {Problem}. The door stays locked; fix the settings or install what is missing, then `systemctl restart kiosk`")]
    public static partial void CannotRunAsConfigured(ILogger logger, string problem);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "{Fps:F1} frames/s; {Frames} frames, {Dropped} dropped by the camera, {Looks} looks, {People} people enrolled")]
    public static partial void Stats(ILogger logger, double fps, long frames, long dropped, long looks, int people);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Debug, Message = "Track {TrackId} started: face {Width:F0} px wide, frame {Frame}")]
    public static partial void TrackStarted(ILogger logger, long trackId, float width, long frame);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Debug, Message = "Track {TrackId} ended: seen in {Hits} frames, {Looks} usable looks, decided {Decided}")]
    public static partial void TrackEnded(ILogger logger, long trackId, int hits, int looks, bool decided);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Error, Message = "MQTT is configured but cannot start: {Reason}. The door works and events are kept; they go out once MQTT works")]
    public static partial void MqttUnavailable(ILogger logger, string reason);
}
