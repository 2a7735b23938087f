using Microsoft.Extensions.Logging;

namespace Kiosk.Vision;

// Kiosk.Vision's one Log class, partial so that each concern keeps its messages in its own folder. Event ids
// 1000-1099 are the camera's. Camera URLs are redacted (FfmpegArguments.Redact) before they reach a message.
internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "Camera {Device}: delivering {Width}x{Height} frames (ffmpeg pid {ProcessId})")]
    public static partial void CameraStarted(ILogger logger, string device, int width, int height, int processId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "Camera {Device}: {Problem}; restarting in {Delay}, retries are logged at Debug until it recovers")]
    public static partial void CameraFailed(ILogger logger, string device, string problem, TimeSpan delay);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug,
        Message = "Camera {Device}: {Problem} (failure {Failures} of this outage); restarting in {Delay}")]
    public static partial void CameraFailedAgain(ILogger logger, string device, string problem, int failures, TimeSpan delay);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information,
        Message = "Camera {Device}: recovered after {Failures} failures, {Outage} without frames (ffmpeg pid {ProcessId})")]
    public static partial void CameraRecovered(ILogger logger, string device, int failures, TimeSpan outage, int processId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information,
        Message = "Camera {Device}: end of the file after {Frames} frames; the source has stopped")]
    public static partial void CameraFileEnded(ILogger logger, string device, long frames);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Camera {Device}: starting {Ffmpeg} {Arguments}")]
    public static partial void FfmpegStarting(ILogger logger, string device, string ffmpeg, string arguments);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Debug,
        Message = "Camera {Device}: ffmpeg (pid {ProcessId}) exited with {ExitCode}; its last messages: {Messages}")]
    public static partial void FfmpegExited(ILogger logger, string device, int processId, string exitCode, string messages);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning,
        Message = "Camera {Device}: the consumer holds {Held} frames without disposing them; new frames are dropped until it does")]
    public static partial void FramePoolExhausted(ILogger logger, string device, int held);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Error,
        Message = "Camera {Device}: ffmpeg (pid {ProcessId}) did not exit within {Timeout} of being killed")]
    public static partial void FfmpegWouldNotDie(ILogger logger, string device, int processId, TimeSpan timeout);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Error,
        Message = "Camera {Device}: the capture thread did not end within {Timeout} of disposal; it is abandoned")]
    public static partial void CaptureThreadAbandoned(ILogger logger, string device, TimeSpan timeout);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Camera {Device}: a StatusChanged handler threw")]
    public static partial void StatusHandlerFailed(ILogger logger, string device, Exception exception);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Critical, Message = "Camera {Device}: the capture thread failed")]
    public static partial void CaptureThreadFailed(ILogger logger, string device, Exception exception);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information,
        Message = "Camera {Device}: stopped after {Frames} frames ({Dropped} dropped) and {Restarts} restarts")]
    public static partial void CameraStopped(ILogger logger, string device, long frames, long dropped, int restarts);
}
