using Kiosk.Vision.Imaging;

namespace Kiosk.Vision.Capture;

/// <summary>
/// A frame lent to the consumer by <see cref="FfmpegFrameSource.NextFrameAsync"/>: its pixels stay unchanged until
/// <see cref="Dispose"/>, which returns the buffer to the source's pool. Sequence increases by one per frame read from
/// ffmpeg, over restarts too, so a gap between two frames the consumer got is the number of frames dropped between them.
/// </summary>
/// <remarks>
/// Frames are pooled: the object and its <see cref="Image"/> are handed out again after <see cref="Dispose"/>, so
/// neither may be used (or disposed again) afterwards; a second Dispose right after the first is harmless. Do not
/// <see cref="BgrImage.Reset"/> the image. Not thread-safe.
/// </remarks>
public sealed class Frame : IDisposable
{
    private readonly FfmpegFrameSource _owner;

    internal Frame(FfmpegFrameSource owner, int width, int height)
    {
        _owner = owner;
        Image = new BgrImage(width, height);
    }

    /// <summary>The pixels, Width x Height of the source's options, tightly packed BGR24.</summary>
    public BgrImage Image { get; }

    /// <summary>1 for the first frame read from ffmpeg, then one more per frame read, dropped or not.</summary>
    public long Sequence { get; internal set; }

    /// <summary>When the frame's last byte arrived from ffmpeg (not a sensor timestamp: rawvideo carries none).</summary>
    public DateTimeOffset CapturedUtc { get; internal set; }

    /// <summary>
    /// The same moment on the source's monotonic clock, <see cref="TimeProvider.GetTimestamp"/> of the source's
    /// <see cref="TimeProvider"/> (ticks of its <see cref="TimeProvider.TimestampFrequency"/>): for frame ages and intervals.
    /// </summary>
    public long MonotonicTicks { get; internal set; }

    /// <summary>Who holds the frame; changed only under the source's lock.</summary>
    internal FrameOwner Owner { get; set; }

    /// <summary>Returns the buffer to the source. Idempotent while the frame has not been handed out again.</summary>
    public void Dispose() => _owner.Return(this);
}

internal enum FrameOwner
{
    /// <summary>In the pool's free list.</summary>
    Free,

    /// <summary>The reader thread is writing into it.</summary>
    Filling,

    /// <summary>The newest complete frame, not yet taken by the consumer.</summary>
    Published,

    /// <summary>Lent to the consumer until Dispose.</summary>
    Lent,
}
