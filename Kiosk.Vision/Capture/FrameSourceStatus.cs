namespace Kiosk.Vision.Capture;

/// <summary>Where a frame source is in its life; every change raises <see cref="FfmpegFrameSource.StatusChanged"/>.</summary>
public enum FrameSourceState
{
    /// <summary>ffmpeg launched (or about to be), no frame from it yet.</summary>
    Starting,

    /// <summary>Frames are arriving.</summary>
    Running,

    /// <summary>ffmpeg is alive but sent no frame for <see cref="FrameSourceOptions.StallTimeout"/> (or, before its first frame, <see cref="FrameSourceOptions.StartTimeout"/>); it is being killed.</summary>
    Stalled,

    /// <summary>A run that delivered frames ended (ffmpeg exited, or was killed after a stall); waiting out the backoff before starting again.</summary>
    Restarting,

    /// <summary>
    /// The last attempt produced no frame at all: ffmpeg could not be started, or exited or stalled before its first
    /// frame (missing device or file, camera unreachable). Not final: the source starts again after the backoff,
    /// since a camera may be plugged in later. <see cref="FrameSourceStatus.LastError"/> says why.
    /// </summary>
    Failed,

    /// <summary>Disposed, or a file that is not looped reached its end. Final.</summary>
    Stopped,
}

/// <summary>A snapshot of a frame source.</summary>
/// <param name="FramesRead">Frames read from ffmpeg since the source started, over all runs.</param>
/// <param name="FramesDropped">Frames read but never handed to the consumer because a newer one replaced them.</param>
/// <param name="Restarts">ffmpeg launches after the first one.</param>
/// <param name="LastError">Why the last run ended (ffmpeg's last error line, a stall, a failed launch), URL passwords redacted; null until a run fails.</param>
/// <param name="LastFrameUtc">When the newest frame arrived.</param>
public sealed record FrameSourceStatus(
    FrameSourceState State,
    long FramesRead,
    long FramesDropped,
    int Restarts,
    string? LastError,
    DateTimeOffset? LastFrameUtc);
