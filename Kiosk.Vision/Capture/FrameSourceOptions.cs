namespace Kiosk.Vision.Capture;

/// <summary>What <see cref="FrameSourceOptions.Device"/> names.</summary>
public enum FrameSourceKind
{
    /// <summary>A V4L2 device such as <c>/dev/video0</c> (USB camera, Pi camera through the V4L2 compatibility layer).</summary>
    V4l2,

    /// <summary>An <c>rtsp://</c>, <c>rtsps://</c>, <c>http://</c> or <c>https://</c> camera URL; RTSP goes over TCP.</summary>
    Network,

    /// <summary>A video file (or a FIFO), optionally looped and paced at its native rate so that it behaves like a camera.</summary>
    File,
}

/// <summary>
/// The camera: section <c>Camera</c> of the settings. <see cref="Validate"/> throws an <see cref="ArgumentException"/>
/// whose message and <see cref="ArgumentException.ParamName"/> name the key (e.g. <c>Camera:Width</c>).
/// </summary>
/// <remarks>
/// ffmpeg always delivers <see cref="Width"/> x <see cref="Height"/> BGR24 frames, scaling when the input differs.
/// <see cref="FrameRate"/> and <see cref="InputFormat"/> are asked of a V4L2 device only; a network camera and a file
/// deliver at their own rate.
/// </remarks>
public sealed record FrameSourceOptions
{
    public const string Section = "Camera";
    public const int MinSize = 16;
    public const int MaxSize = 4096;
    public const int MaxFrameRate = 120;

    /// <summary>The V4L2 input formats asked of the device: compressed (mjpeg) or raw (yuyv422).</summary>
    public static readonly IReadOnlyList<string> InputFormats = ["mjpeg", "yuyv422"];

    /// <summary>The URL schemes a <see cref="FrameSourceKind.Network"/> camera may use.</summary>
    public static readonly IReadOnlyList<string> NetworkSchemes = ["rtsp", "rtsps", "http", "https"];

    public FrameSourceKind Kind { get; init; } = FrameSourceKind.V4l2;

    /// <summary>The device path (<c>/dev/video0</c>), camera URL or file path, by <see cref="Kind"/>.</summary>
    public string Device { get; init; } = "/dev/video0";

    /// <summary>Width of the delivered frames in pixels (16..4096); the V4L2 capture size too.</summary>
    public int Width { get; init; } = 640;

    /// <summary>Height of the delivered frames in pixels (16..4096); the V4L2 capture size too.</summary>
    public int Height { get; init; } = 480;

    /// <summary>Frames per second asked of a V4L2 device (1..120).</summary>
    public int FrameRate { get; init; } = 15;

    /// <summary>V4L2 input format: <c>mjpeg</c> or <c>yuyv422</c>.</summary>
    public string InputFormat { get; init; } = "mjpeg";

    /// <summary>File: start again at the end, forever. Without it the source stops (state Stopped) at the end of the file.</summary>
    public bool Loop { get; init; }

    /// <summary>File: deliver at the file's native frame rate (ffmpeg <c>-re</c>) rather than as fast as it decodes.</summary>
    public bool Realtime { get; init; } = true;

    /// <summary>No new frame for this long while running means the camera stalled: ffmpeg is killed and restarted.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Time allowed from launching ffmpeg to its first frame (opening the device, an RTSP handshake, probing the
    /// stream, waiting for a key frame); longer than <see cref="StallTimeout"/> because a network stream can take
    /// seconds to start. Not less than <see cref="StallTimeout"/>.
    /// </summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Pause before the first restart after a failure; doubled after each further failure.</summary>
    public TimeSpan RestartBackoffMin { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause between restarts.</summary>
    public TimeSpan RestartBackoffMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The ffmpeg executable: a name looked up on PATH or a path. ffmpeg 5.1 or later (<c>-fps_mode</c>).</summary>
    public string FfmpegPath { get; init; } = "ffmpeg";

    /// <summary>Checks every setting; throws <see cref="ArgumentException"/> naming the first bad key.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
            throw Bad("Kind", $"is {(int)Kind}; it must be one of {string.Join(", ", Enum.GetNames<FrameSourceKind>())}");
        if (string.IsNullOrWhiteSpace(Device))
            throw Bad("Device", Kind switch
            {
                FrameSourceKind.V4l2 => "is empty; it must name the camera device (e.g. /dev/video0)",
                FrameSourceKind.Network => "is empty; it must be the camera URL (e.g. rtsp://camera.local/stream)",
                _ => "is empty; it must name the video file",
            });
        if (Device.Trim() != Device || Device.AsSpan().ContainsAny('\r', '\n', '\0'))
            throw Bad("Device", "has leading or trailing spaces or a control character");
        if (Kind == FrameSourceKind.Network)
        {
            // The URL itself is not repeated: it may hold a password.
            if (!Uri.TryCreate(Device, UriKind.Absolute, out Uri? uri) || !NetworkSchemes.Contains(uri.Scheme))
                throw Bad("Device", $"is not an absolute {string.Join(", ", NetworkSchemes)} URL");
        }
        if (Width is < MinSize or > MaxSize)
            throw Bad("Width", $"is {Width}; it must be {MinSize}..{MaxSize}");
        if (Height is < MinSize or > MaxSize)
            throw Bad("Height", $"is {Height}; it must be {MinSize}..{MaxSize}");
        if (FrameRate is < 1 or > MaxFrameRate)
            throw Bad("FrameRate", $"is {FrameRate}; it must be 1..{MaxFrameRate}");
        if (Kind == FrameSourceKind.V4l2 && !InputFormats.Contains(InputFormat))
            throw Bad("InputFormat", $"is '{InputFormat}'; it must be one of {string.Join(", ", InputFormats)}");
        if (StallTimeout < TimeSpan.FromMilliseconds(100))
            throw Bad("StallTimeout", $"is {StallTimeout}; it must be at least 100 ms");
        if (StartTimeout < StallTimeout)
            throw Bad("StartTimeout", $"is {StartTimeout}; it must be at least Camera:StallTimeout ({StallTimeout})");
        if (RestartBackoffMin <= TimeSpan.Zero)
            throw Bad("RestartBackoffMin", $"is {RestartBackoffMin}; it must be positive");
        if (RestartBackoffMax < RestartBackoffMin)
            throw Bad("RestartBackoffMax", $"is {RestartBackoffMax}; it must be at least Camera:RestartBackoffMin ({RestartBackoffMin})");
        if (RestartBackoffMax > TimeSpan.FromHours(1))
            throw Bad("RestartBackoffMax", $"is {RestartBackoffMax}; it must be at most one hour");
        if (string.IsNullOrWhiteSpace(FfmpegPath))
            throw Bad("FfmpegPath", "is empty; it must name the ffmpeg executable (e.g. ffmpeg or /usr/bin/ffmpeg)");
    }

    private static ArgumentException Bad(string key, string problem)
    {
        string name = $"{Section}:{key}";
        return new ArgumentException($"{name} {problem}", name);
    }
}
