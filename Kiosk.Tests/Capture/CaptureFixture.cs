using System.Collections.Concurrent;
using System.Diagnostics;
using Kiosk.Tests.Imaging;
using Kiosk.Vision.Capture;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Capture;

/// <summary>
/// Test material made once with the system ffmpeg in a temporary folder: a 3 s, 15 fps, 320x240 testsrc clip
/// (45 frames, H.264), ffmpeg's own BGR24 decode of it, and a short YUV4MPEG stream for the FIFO tests.
/// </summary>
public sealed class CaptureFixture : IDisposable
{
    public const int Width = 320;
    public const int Height = 240;
    public const int ClipFrames = 45;
    public const int FifoWidth = 160;
    public const int FifoHeight = 120;

    public CaptureFixture()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("kiosk-capture-").FullName;
        ClipPath = Path.Combine(Directory, "clip.mp4");
        Ffmpeg.Run("-f", "lavfi", "-i", $"testsrc=size={Width}x{Height}:rate=15", "-t", "3",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "15", "-pix_fmt", "yuv420p", ClipPath);
        Reference = Ffmpeg.Run("-i", ClipPath, "-map", "0:v:0", "-vf", $"scale={Width}:{Height}", "-fps_mode", "passthrough",
            "-pix_fmt", "bgr24", "-f", "rawvideo", "-");
        Assert.Equal(ClipFrames * FrameBytes, Reference.Length);

        byte[] y4m = Ffmpeg.Run("-f", "lavfi", "-i", $"testsrc=size={FifoWidth}x{FifoHeight}:rate=15", "-frames:v", "10",
            "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "-");
        int headerEnd = Array.IndexOf(y4m, (byte)'\n') + 1;
        Y4mHeader = y4m[..headerEnd];
        int frameLength = "FRAME\n".Length + FifoWidth * FifoHeight * 3 / 2;
        Y4mFrames = Enumerable.Range(0, (y4m.Length - headerEnd) / frameLength)
            .Select(i => y4m.AsSpan(headerEnd + i * frameLength, frameLength).ToArray()).ToArray();
        Assert.Equal(10, Y4mFrames.Length);
    }

    public string Directory { get; }
    public string ClipPath { get; }
    public static int FrameBytes => Width * Height * 3;

    /// <summary>ffmpeg's decode of every clip frame, BGR24, one after the other.</summary>
    public byte[] Reference { get; }

    public byte[] Y4mHeader { get; }
    public byte[][] Y4mFrames { get; }

    /// <summary>Clip frame <c>(sequence - 1) mod 45</c>: what a frame of a (looped) clip must hold, counting from the first run.</summary>
    public ReadOnlySpan<byte> ReferenceFor(long sequence) =>
        Reference.AsSpan((int)((sequence - 1) % ClipFrames) * FrameBytes, FrameBytes);

    /// <summary>A fresh path in the fixture folder.</summary>
    public string NewPath(string name) => Path.Combine(Directory, $"{Guid.NewGuid():N}-{name}");

    public FrameSourceOptions ClipOptions(bool loop, bool realtime) => new()
    {
        Kind = FrameSourceKind.File,
        Device = ClipPath,
        Width = Width,
        Height = Height,
        Loop = loop,
        Realtime = realtime,
        StallTimeout = TimeSpan.FromSeconds(2),
        StartTimeout = TimeSpan.FromSeconds(5),
        RestartBackoffMin = TimeSpan.FromMilliseconds(100),
        RestartBackoffMax = TimeSpan.FromMilliseconds(400),
    };

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A FIFO still open by a killed process; the temp folder is cleaned up by the system.
        }
    }
}

/// <summary>
/// The capture tests run ffmpeg processes and measure pacing and timeouts: on a two-core machine they run one at a
/// time and beside nothing else.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CaptureCollection : ICollectionFixture<CaptureFixture>
{
    public const string Name = "capture (ffmpeg processes)";
}

/// <summary>Every <see cref="FfmpegFrameSource.StatusChanged"/>, in order, with the time it came.</summary>
internal sealed class StatusRecorder
{
    private readonly Lock _lock = new();
    private readonly List<(FrameSourceStatus Status, long Timestamp)> _seen = [];
    private readonly List<(Func<FrameSourceStatus, bool> Match, TaskCompletionSource<FrameSourceStatus> Done)> _waits = [];

    public StatusRecorder(FfmpegFrameSource source) => source.StatusChanged += OnChanged;

    public IReadOnlyList<(FrameSourceStatus Status, long Timestamp)> Seen
    {
        get
        {
            lock (_lock) return _seen.ToArray();
        }
    }

    public IReadOnlyList<FrameSourceState> States => Seen.Select(s => s.Status.State).ToArray();

    /// <summary>The first status (already seen or still to come) that matches.</summary>
    public async Task<FrameSourceStatus> WaitFor(Func<FrameSourceStatus, bool> match, string what, double seconds = 15)
    {
        var done = new TaskCompletionSource<FrameSourceStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            foreach (var (status, _) in _seen)
            {
                if (match(status)) return status;
            }
            _waits.Add((match, done));
        }
        try
        {
            return await done.Task.WaitAsync(TimeSpan.FromSeconds(seconds));
        }
        catch (TimeoutException)
        {
            Assert.Fail($"No status {what} within {seconds} s; seen: {string.Join(", ", States)}; last: {Seen.LastOrDefault().Status}");
            throw;
        }
    }

    private void OnChanged(FrameSourceStatus status)
    {
        lock (_lock)
        {
            _seen.Add((status, Stopwatch.GetTimestamp()));
            for (int i = _waits.Count - 1; i >= 0; i--)
            {
                if (_waits[i].Match(status))
                {
                    _waits[i].Done.TrySetResult(status);
                    _waits.RemoveAt(i);
                }
            }
        }
    }
}

/// <summary>Keeps every log entry, for checking levels and event ids.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<(LogLevel Level, int EventId, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId.Id, formatter(state, exception)));

    public int Count(LogLevel level, int eventId) => Entries.Count(e => e.Level == level && e.EventId == eventId);
}

internal static class CaptureTestExtensions
{
    /// <summary>The next frame, failing the test (with the source's status) if none comes within <paramref name="seconds"/>.</summary>
    public static async Task<Frame> NextFrameWithin(this FfmpegFrameSource source, double seconds = 15)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            return await source.NextFrameAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"No frame within {seconds} s; status {source.Status}");
            throw;
        }
    }

    public static bool ProcessExists(int pid) => System.IO.Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    private static bool IsZombie(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) S ..." with the state after the last ')'.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] == 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static async Task Eventually(Func<bool> condition, string what, double seconds = 15, Func<string>? detail = null)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed.TotalSeconds > seconds) Assert.Fail($"Not {what} within {seconds} s{(detail is null ? "" : "; " + detail())}");
            await Task.Delay(20);
        }
    }

    /// <summary>Sends a signal with the system kill command (SIGSTOP, SIGCONT...).</summary>
    public static void Signal(int pid, string signal)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }
}
