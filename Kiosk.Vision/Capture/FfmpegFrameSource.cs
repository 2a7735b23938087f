using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Tasks.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kiosk.Vision.Capture;

/// <summary>
/// Camera frames from an ffmpeg child process writing raw BGR24 to its standard output: a V4L2 device, a network
/// camera or a video file (<see cref="FrameSourceOptions"/>). Always the newest frame: a consumer slower than the
/// camera gets the latest one and the frames in between are dropped (counted, and visible as Sequence gaps).
/// </summary>
/// <remarks>
/// <para>
/// One capture thread per source reads exactly Width*Height*3 bytes per frame straight into a pooled
/// <see cref="Frame"/> (three buffers: one being filled, the newest, one lent to the consumer; more only while the
/// consumer holds several frames at once, at most eight). No allocation per frame once running.
/// </para>
/// <para>
/// Failures are the source's business, not the consumer's: when ffmpeg exits, cannot be started, or sends no frame
/// for <see cref="FrameSourceOptions.StallTimeout"/>, it is killed (process tree) and started again after a backoff
/// that doubles from <see cref="FrameSourceOptions.RestartBackoffMin"/> to <see cref="FrameSourceOptions.RestartBackoffMax"/>
/// and starts over after a run of ten seconds or more. <see cref="NextFrameAsync"/> meanwhile just waits.
/// </para>
/// <para>
/// Thread safety: one consumer (one <see cref="NextFrameAsync"/> pending at a time); <see cref="Status"/> and
/// <see cref="DisposeAsync"/> from any thread. <see cref="StatusChanged"/> is raised on the capture thread or a
/// timer thread, one event at a time in the order of the changes: keep handlers short and do not wait for
/// <see cref="DisposeAsync"/> in one.
/// </para>
/// </remarks>
public sealed class FfmpegFrameSource : IAsyncDisposable
{
    private const int InitialPoolSize = 3;
    internal const int MaxPoolSize = 8;

    /// <summary>A run that delivered frames for this long resets the backoff to its minimum. Shorter in tests.</summary>
    internal TimeSpan HealthyRun { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long ffmpeg may take to exit by itself once its output ended, before it is killed.</summary>
    private static readonly TimeSpan ExitGrace = TimeSpan.FromSeconds(2);

    /// <summary>How long a killed ffmpeg may take to go (a process stuck in the kernel may not).</summary>
    private static readonly TimeSpan KillWait = TimeSpan.FromSeconds(5);

    /// <summary>The longest <see cref="DisposeAsync"/> waits for the capture thread: a kill and its wait, with room.</summary>
    private static readonly TimeSpan JoinTimeout = ExitGrace + KillWait + TimeSpan.FromSeconds(3);

    private static readonly Action<object?, CancellationToken> s_onWaitCancelled =
        static (state, token) => ((FfmpegFrameSource)state!).CancelWait(token);

    private readonly FrameSourceOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _deviceForLog;
    private readonly List<string> _arguments;

    // Lock order: _eventLock, then _lock. _eventLock serializes state changes with the raising of their events.
    private readonly Lock _eventLock = new();
    private readonly Lock _lock = new();

    // Guarded by _lock.
    private readonly Stack<Frame> _free = new(MaxPoolSize);
    private int _poolSize;
    private Frame? _published;
    private bool _waiting;
    private long _waitId;
    private CancellationToken _waitToken;
    private CancellationTokenRegistration _waitRegistration;
    private Process? _process;
    private long _runStartedTimestamp;
    private long _lastFrameTimestamp;
    private bool _runHasFrame;
    private bool _stallKill;
    private bool _stopping;
    private Exception? _fault;
    private Thread? _thread;
    private ITimer? _watchdog;
    private ITimer? _backoffTimer;
    private FrameSourceState _state = FrameSourceState.Starting;
    private long _framesRead;
    private long _framesDropped;
    private int _restarts;
    private string? _lastError;
    private DateTimeOffset? _lastFrameUtc;

    // Capture thread only.
    private long _sequence;
    private bool _everRan;
    private int _outageFailures;
    private long _outageStartTimestamp;
    private long _runFirstFrameTimestamp;
    private bool _poolExhaustedLogged;
    private long _captureThreadAllocatedBytes; // written by the capture thread, read by tests

    private readonly FrameWaiter _waiter = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly TaskCompletionSource _threadDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposeStarted;

    /// <summary>Validates the options (<see cref="ArgumentException"/> naming the key) and sets up the frame pool; nothing runs until <see cref="StartAsync"/>.</summary>
    public FfmpegFrameSource(FrameSourceOptions options, ILogger<FfmpegFrameSource>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _deviceForLog = FfmpegArguments.Redact(options.Device);
        _arguments = FfmpegArguments.Build(options);
        for (int i = 0; i < InitialPoolSize; i++)
        {
            _free.Push(new Frame(this, options.Width, options.Height));
        }
        _poolSize = InitialPoolSize;
    }

    /// <summary>
    /// Raised on every change of state and at every launch of ffmpeg (Starting, even after Failed): Starting, Running,
    /// Stalled, Restarting or Failed with <see cref="FrameSourceStatus.LastError"/>, Stopped.
    /// </summary>
    public event Action<FrameSourceStatus>? StatusChanged;

    public FrameSourceStatus Status
    {
        get
        {
            lock (_lock) return StatusLocked();
        }
    }

    /// <summary>The running ffmpeg's process id, null between runs. For tests.</summary>
    internal int? ProcessId
    {
        get
        {
            lock (_lock) return _process?.Id;
        }
    }

    /// <summary>The capture thread's allocation counter after its latest frame. For tests.</summary>
    internal long CaptureThreadAllocatedBytes => Volatile.Read(ref _captureThreadAllocatedBytes);

    /// <summary>Starts the capture thread, which starts ffmpeg; returns at once (a missing camera is retried, not awaited).</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public Task StartAsync(CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_thread is not null) throw new InvalidOperationException("The frame source is already started.");
            TimeSpan tick = TimeSpan.FromTicks(Math.Clamp(_options.StallTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerMillisecond * 250));
            _watchdog = _time.CreateTimer(static s => ((FfmpegFrameSource)s!).OnWatchdogTick(), this, tick, tick);
            _backoffTimer = _time.CreateTimer(static s => ((FfmpegFrameSource)s!)._wake.Set(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _thread = new Thread(CaptureThread) { IsBackground = true, Name = "ffmpeg capture" };
            _thread.Start();
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The newest frame, newer than the last one this method returned; waits for one if there is none yet. Frames
    /// that arrived in between are dropped. Dispose the frame when done: it is lent from a small pool.
    /// </summary>
    /// <remarks>Never fails for a camera problem: it waits until ffmpeg delivers again.</remarks>
    /// <exception cref="OperationCanceledException"><paramref name="ct"/> fired.</exception>
    /// <exception cref="ObjectDisposedException">The source was disposed (also when it happens during the wait).</exception>
    /// <exception cref="InvalidOperationException">Another call is already waiting.</exception>
    public ValueTask<Frame> NextFrameAsync(CancellationToken ct)
    {
        if (ct.IsCancellationRequested) return ValueTask.FromCanceled<Frame>(ct);
        long id;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (_fault is not null) throw new InvalidOperationException("The capture thread failed.", _fault);
            if (_waiting) throw new InvalidOperationException("NextFrameAsync is already waiting: one consumer at a time.");
            if (_published is { } frame)
            {
                _published = null;
                frame.Owner = FrameOwner.Lent;
                return new ValueTask<Frame>(frame);
            }
            _waiter.Reset();
            _waiting = true;
            id = ++_waitId;
            _waitToken = ct;
        }

        // Registered outside the lock (a token cancelled meanwhile runs the callback right here); stored unless the
        // wait already ended, in which case nobody else will unregister it.
        CancellationTokenRegistration registration = ct.UnsafeRegister(s_onWaitCancelled, this);
        bool stored = false;
        lock (_lock)
        {
            if (_waiting && _waitId == id)
            {
                _waitRegistration = registration;
                stored = true;
            }
        }
        if (!stored) registration.Unregister();
        return new ValueTask<Frame>(_waiter, _waiter.Version);
    }

    /// <summary>
    /// Kills ffmpeg (process tree), waits for the capture thread, fails a pending <see cref="NextFrameAsync"/> with
    /// <see cref="ObjectDisposedException"/>. Frames still lent stay readable until disposed.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposeStarted, 1) == 1)
        {
            await _disposed.Task.ConfigureAwait(false);
            return;
        }
        try
        {
            await DisposeCoreAsync().ConfigureAwait(false);
        }
        finally
        {
            _disposed.TrySetResult();
        }
    }

    private async Task DisposeCoreAsync()
    {
        Thread? thread;
        bool failWaiter;
        CancellationTokenRegistration registration;
        lock (_lock)
        {
            _stopping = true;
            thread = _thread;
            failWaiter = _waiting;
            _waiting = false;
            registration = _waitRegistration;
            _waitRegistration = default;
            if (_process is { } process) KillTree(process);
        }
        _wake.Set();
        if (failWaiter)
        {
            registration.Unregister();
            _waiter.SetException(new ObjectDisposedException(nameof(FfmpegFrameSource)));
        }

        if (thread is not null)
        {
            try
            {
                await _threadDone.Task.WaitAsync(JoinTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.CaptureThreadAbandoned(_logger, _deviceForLog, JoinTimeout);
            }
        }
        // _wake is not disposed: a timer callback may still be on its way to it (and it holds no handle unless asked).
        _watchdog?.Dispose();
        _backoffTimer?.Dispose();

        FrameSourceStatus final;
        lock (_eventLock)
        {
            lock (_lock)
            {
                _state = FrameSourceState.Stopped;
                final = StatusLocked();
            }
            RaiseStatusChanged(final);
        }
        Log.CameraStopped(_logger, _deviceForLog, final.FramesRead, final.FramesDropped, final.Restarts);
    }

    /// <summary>Called by <see cref="Frame.Dispose"/>: back to the free list, once.</summary>
    internal void Return(Frame frame)
    {
        lock (_lock)
        {
            if (frame.Owner != FrameOwner.Lent) return;
            frame.Owner = FrameOwner.Free;
            _free.Push(frame);
        }
    }

    /// <summary>The pause before the restart that follows the <paramref name="failures"/>-th failure in a row (1-based).</summary>
    internal static TimeSpan Backoff(int failures, TimeSpan min, TimeSpan max)
    {
        if (failures <= 1) return min;
        if (failures > 40) return max;
        double ticks = min.Ticks * Math.Pow(2, failures - 1);
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    // ---- the capture thread ------------------------------------------------------------------------------------

    private void CaptureThread()
    {
        try
        {
            int failures = 0; // runs in a row that were not healthy, for the backoff
            for (bool first = true; ; first = false)
            {
                if (!first)
                {
                    lock (_lock) _restarts++;
                }
                SetState(FrameSourceState.Starting, force: true);
                RunResult run = RunOnce();
                if (IsStopping()) return;

                if (run.EndOfFile)
                {
                    Log.CameraFileEnded(_logger, _deviceForLog, run.Frames);
                    SetState(FrameSourceState.Stopped);
                    return;
                }

                DropStaleFrame();
                long now = _time.GetTimestamp();
                bool healthy = run.Frames > 0 && _time.GetElapsedTime(_runFirstFrameTimestamp, now) >= HealthyRun;
                failures = healthy ? 1 : failures + 1;
                TimeSpan delay = Backoff(failures, _options.RestartBackoffMin, _options.RestartBackoffMax);
                string problem = FfmpegArguments.Redact(run.Problem);
                if (_outageFailures++ == 0)
                {
                    _outageStartTimestamp = now;
                    Log.CameraFailed(_logger, _deviceForLog, problem, delay);
                }
                else
                {
                    Log.CameraFailedAgain(_logger, _deviceForLog, problem, _outageFailures, delay);
                }
                SetState(run.Frames > 0 ? FrameSourceState.Restarting : FrameSourceState.Failed, problem);

                if (!WaitBackoff(delay)) return;
            }
        }
        catch (Exception ex)
        {
            // A bug, not a camera failure (those are results): say so loudly, leave no ffmpeg behind, and let the
            // consumer see it.
            Log.CaptureThreadFailed(_logger, _deviceForLog, ex);
            lock (_lock)
            {
                if (_process is { } orphan)
                {
                    KillTree(orphan);
                    orphan.Dispose();
                    _process = null;
                }
            }
            FailWaiter(ex);
            SetState(FrameSourceState.Failed, "capture thread failed: " + ex.Message);
        }
        finally
        {
            _threadDone.TrySetResult();
        }
    }

    private readonly record struct RunResult(long Frames, bool EndOfFile, string Problem);

    /// <summary>One ffmpeg process, from launch to reaping.</summary>
    private RunResult RunOnce()
    {
        var stderr = new StderrTail();
        Process process;
        try
        {
            process = Launch(stderr);
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or IOException)
        {
            return new RunResult(0, false, $"cannot start {_options.FfmpegPath}: {ex.Message}");
        }

        int pid = process.Id;
        lock (_lock)
        {
            _process = process;
            _runStartedTimestamp = _time.GetTimestamp();
            _runHasFrame = false;
            _stallKill = false;
            // Disposal that came while the process was being started found no process to kill.
            if (_stopping) KillTree(process);
        }

        long frames = 0;
        string? readError = null;
        Frame fill = TakeFirstBuffer();
        try
        {
            Stream stdout = process.StandardOutput.BaseStream;
            while (ReadFrame(stdout, fill.Image.Pixels))
            {
                frames++;
                fill = Publish(fill, pid);
            }
        }
        catch (IOException ex)
        {
            readError = "reading ffmpeg's output failed: " + ex.Message;
        }
        finally
        {
            ReleaseBuffer(fill);
        }

        bool stalled;
        lock (_lock)
        {
            _process = null;
            stalled = _stallKill;
        }
        int? exitCode = Reap(process, pid);
        string exit = exitCode?.ToString(CultureInfo.InvariantCulture) ?? "no exit (still running)";
        string? lastLine = stderr.LastLine;
        if (lastLine is not null)
        {
            Log.FfmpegExited(_logger, _deviceForLog, pid, exit, FfmpegArguments.Redact(stderr.Joined()));
        }

        if (stalled)
        {
            string timeout = Seconds(frames > 0 ? _options.StallTimeout : _options.StartTimeout);
            return new RunResult(frames, false, frames > 0
                ? $"no frame for {timeout}, ffmpeg killed" + (lastLine is null ? "" : $" (it last said: {lastLine})")
                : $"no first frame within {timeout}, ffmpeg killed" + (lastLine is null ? "" : $" (it last said: {lastLine})"));
        }
        if (readError is not null) return new RunResult(frames, false, readError);
        if (exitCode == 0 && frames > 0 && _options is { Kind: FrameSourceKind.File, Loop: false })
        {
            return new RunResult(frames, true, "");
        }
        return new RunResult(frames, false, lastLine ?? (exitCode == 0
            ? "ffmpeg ended the stream (exit code 0)"
            : $"ffmpeg exited with code {exit} and said nothing"));
    }

    private Process Launch(StderrTail stderr)
    {
        var info = new ProcessStartInfo(_options.FfmpegPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (string a in _arguments) info.ArgumentList.Add(a);
        Log.FfmpegStarting(_logger, _deviceForLog, _options.FfmpegPath, FfmpegArguments.Redact(string.Join(' ', _arguments)));

        var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line) stderr.Add(line);
        };
        try
        {
            process.Start();
            process.BeginErrorReadLine();
            return process;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="pixels"/> from the pipe; false at end of stream (a partial frame is discarded).</summary>
    private static bool ReadFrame(Stream stdout, Span<byte> pixels)
    {
        int filled = 0;
        while (filled < pixels.Length)
        {
            int n = stdout.Read(pixels[filled..]);
            if (n == 0) return false;
            filled += n;
        }
        return true;
    }

    /// <summary>
    /// Stamps the frame just read and makes it the newest (or hands it to a waiting consumer); returns the buffer
    /// to read the next frame into: the unread frame it replaced (dropped), a free one, or, when the consumer holds
    /// all the others, the same frame again (dropped).
    /// </summary>
    private Frame Publish(Frame frame, int pid)
    {
        long timestamp = _time.GetTimestamp();
        DateTimeOffset utc = _time.GetUtcNow();
        frame.Sequence = ++_sequence;
        frame.CapturedUtc = utc;
        frame.MonotonicTicks = timestamp;

        Frame? next;
        bool handedOut = false;
        bool firstOfRun;
        int held = 0;
        CancellationTokenRegistration registration = default;
        lock (_lock)
        {
            _framesRead++;
            _lastFrameTimestamp = timestamp;
            _lastFrameUtc = utc;
            firstOfRun = !_runHasFrame;
            _runHasFrame = true;

            next = _published ?? TakeFreeLocked();
            if (next is null)
            {
                // The consumer holds every other buffer: this frame is dropped and its buffer read into again.
                _framesDropped++;
                next = frame;
                held = _poolSize - 1;
            }
            else
            {
                if (ReferenceEquals(next, _published))
                {
                    _framesDropped++;
                    _published = null;
                }
                next.Owner = FrameOwner.Filling;
                if (_waiting)
                {
                    _waiting = false;
                    registration = _waitRegistration;
                    _waitRegistration = default;
                    frame.Owner = FrameOwner.Lent;
                    handedOut = true;
                }
                else
                {
                    frame.Owner = FrameOwner.Published;
                    _published = frame;
                }
            }
        }

        // Running before the frame reaches the consumer, so that it never holds a frame of a source still Starting.
        if (firstOfRun) OnFirstFrame(timestamp, pid);
        if (handedOut)
        {
            registration.Unregister();
            _waiter.SetResult(frame);
        }
        if (held > 0 && !_poolExhaustedLogged)
        {
            _poolExhaustedLogged = true;
            Log.FramePoolExhausted(_logger, _deviceForLog, held);
        }
        EnsureSize(next);
        Volatile.Write(ref _captureThreadAllocatedBytes, GC.GetAllocatedBytesForCurrentThread());
        return next;
    }

    private void OnFirstFrame(long timestamp, int pid)
    {
        _runFirstFrameTimestamp = timestamp;
        SetState(FrameSourceState.Running);
        if (_outageFailures > 0)
        {
            Log.CameraRecovered(_logger, _deviceForLog, _outageFailures, _time.GetElapsedTime(_outageStartTimestamp, timestamp), pid);
            _outageFailures = 0;
        }
        else if (!_everRan)
        {
            Log.CameraStarted(_logger, _deviceForLog, _options.Width, _options.Height, pid);
        }
        _everRan = true;
    }

    /// <summary>A free buffer, growing the pool up to <see cref="MaxPoolSize"/>; null when the consumer holds the rest.</summary>
    private Frame? TakeFreeLocked()
    {
        if (_free.TryPop(out Frame? frame)) return frame;
        if (_poolSize >= MaxPoolSize) return null;
        _poolSize++;
        return new Frame(this, _options.Width, _options.Height);
    }

    private Frame TakeFirstBuffer()
    {
        Frame? frame;
        lock (_lock)
        {
            // Between runs the reader holds no buffer; the newest frame of the last run stays published.
            frame = TakeFreeLocked();
            if (frame is null)
            {
                frame = _published ?? throw new InvalidOperationException("Frame pool exhausted with no published frame.");
                _published = null;
                _framesDropped++;
            }
            frame.Owner = FrameOwner.Filling;
        }
        EnsureSize(frame);
        return frame;
    }

    /// <summary>After a failed run the newest frame is from before the failure, maybe seconds old: not handed out.</summary>
    private void DropStaleFrame()
    {
        lock (_lock)
        {
            if (_published is not { } stale) return;
            _published = null;
            stale.Owner = FrameOwner.Free;
            _free.Push(stale);
            _framesDropped++;
        }
    }

    private void ReleaseBuffer(Frame frame)
    {
        lock (_lock)
        {
            if (frame.Owner != FrameOwner.Filling) return;
            frame.Owner = FrameOwner.Free;
            _free.Push(frame);
        }
    }

    /// <summary>Undoes a consumer's <see cref="Imaging.BgrImage.Reset"/> on a pooled image.</summary>
    private void EnsureSize(Frame frame)
    {
        if (frame.Image.Width != _options.Width || frame.Image.Height != _options.Height)
        {
            frame.Image.Reset(_options.Width, _options.Height);
        }
    }

    /// <summary>Waits for ffmpeg to exit (killing it if it does not), drains its stderr, disposes it; the exit code, or null if it would not die.</summary>
    private int? Reap(Process process, int pid)
    {
        try
        {
            if (!process.WaitForExit(ExitGrace))
            {
                KillTree(process);
                if (!process.WaitForExit(KillWait))
                {
                    Log.FfmpegWouldNotDie(_logger, _deviceForLog, pid, KillWait);
                    return null;
                }
            }
            process.WaitForExit(); // after exit: waits for the stderr reader to reach the end
            return process.ExitCode;
        }
        finally
        {
            process.Dispose();
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited and reaped.
        }
        catch (Win32Exception)
        {
            // Exited between the look-up and the signal.
        }
    }

    private bool WaitBackoff(TimeSpan delay)
    {
        // Timers run on a coarse clock and may fire a few milliseconds early: wait again for what is left, so the
        // pause is never shorter than the backoff.
        long start = _time.GetTimestamp();
        for (TimeSpan left = delay; left > TimeSpan.Zero; left = delay - _time.GetElapsedTime(start))
        {
            _wake.Reset();
            lock (_lock)
            {
                if (_stopping) return false;
                _backoffTimer!.Change(left, Timeout.InfiniteTimeSpan);
            }
            _wake.Wait();
            if (IsStopping()) return false;
        }
        return !IsStopping();
    }

    private bool IsStopping()
    {
        lock (_lock) return _stopping;
    }

    // ---- the watchdog (timer thread) ---------------------------------------------------------------------------

    private void OnWatchdogTick()
    {
        lock (_lock)
        {
            if (!StalledLocked()) return;
        }
        lock (_eventLock)
        {
            FrameSourceStatus status;
            lock (_lock)
            {
                if (!StalledLocked()) return;
                _stallKill = true;
                _state = FrameSourceState.Stalled;
                _lastError = _runHasFrame
                    ? $"no frame for {Seconds(_options.StallTimeout)}"
                    : $"no first frame within {Seconds(_options.StartTimeout)}";
                KillTree(_process!);
                status = StatusLocked();
            }
            RaiseStatusChanged(status);
        }
    }

    private bool StalledLocked()
    {
        if (_process is null || _stallKill || _stopping) return false;
        TimeSpan since = _time.GetElapsedTime(_runHasFrame ? _lastFrameTimestamp : _runStartedTimestamp);
        return since >= (_runHasFrame ? _options.StallTimeout : _options.StartTimeout);
    }

    // ---- waiting consumer ----------------------------------------------------------------------------------------

    private void CancelWait(CancellationToken token)
    {
        lock (_lock)
        {
            if (!_waiting || _waitToken != token) return;
            _waiting = false;
            _waitRegistration = default; // this is its callback
        }
        _waiter.SetException(new OperationCanceledException(token));
    }

    private void FailWaiter(Exception ex)
    {
        CancellationTokenRegistration registration;
        lock (_lock)
        {
            _fault = ex;
            if (!_waiting) return;
            _waiting = false;
            registration = _waitRegistration;
            _waitRegistration = default;
        }
        registration.Unregister();
        _waiter.SetException(new InvalidOperationException("The capture thread failed.", ex));
    }

    // ---- status --------------------------------------------------------------------------------------------------

    private FrameSourceStatus StatusLocked() =>
        new(_state, _framesRead, _framesDropped, _restarts, _lastError, _lastFrameUtc);

    /// <summary>
    /// Changes the state (and the error, when given) and raises <see cref="StatusChanged"/>, unless nothing changed
    /// and <paramref name="force"/> is false (each launch is announced, the first one too). Stopped is final.
    /// </summary>
    private void SetState(FrameSourceState state, string? error = null, bool force = false)
    {
        lock (_eventLock)
        {
            FrameSourceStatus status;
            lock (_lock)
            {
                if (_state == FrameSourceState.Stopped) return;
                if (_state == state && error is null && !force) return;
                _state = state;
                if (error is not null) _lastError = error;
                status = StatusLocked();
            }
            RaiseStatusChanged(status);
        }
    }

    private void RaiseStatusChanged(FrameSourceStatus status)
    {
        try
        {
            StatusChanged?.Invoke(status);
        }
        catch (Exception ex)
        {
            // A handler's bug must not stop the camera.
            Log.StatusHandlerFailed(_logger, _deviceForLog, ex);
        }
    }

    private static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###} s");

    /// <summary>The last lines ffmpeg wrote on standard error (it runs at -loglevel error, so they are errors).</summary>
    private sealed class StderrTail
    {
        private const int Lines = 8;
        private const int MaxLineLength = 500;
        private readonly Lock _lock = new();
        private readonly string[] _lines = new string[Lines];
        private int _count;

        public void Add(string line)
        {
            if (line.Length > MaxLineLength) line = line[..MaxLineLength] + "...";
            lock (_lock) _lines[_count++ % Lines] = line;
        }

        public string? LastLine
        {
            get
            {
                lock (_lock) return _count == 0 ? null : _lines[(_count - 1) % Lines];
            }
        }

        public string Joined()
        {
            lock (_lock)
            {
                int n = Math.Min(_count, Lines);
                var kept = new string[n];
                for (int i = 0; i < n; i++) kept[i] = _lines[(_count - n + i) % Lines];
                return string.Join(" | ", kept);
            }
        }
    }

    /// <summary>The one pending <see cref="NextFrameAsync"/>, completed by the capture thread off its own thread.</summary>
    private sealed class FrameWaiter : IValueTaskSource<Frame>
    {
        private ManualResetValueTaskSourceCore<Frame> _core = new() { RunContinuationsAsynchronously = true };

        public short Version => _core.Version;

        public void Reset() => _core.Reset();

        public void SetResult(Frame frame) => _core.SetResult(frame);

        public void SetException(Exception ex) => _core.SetException(ex);

        public Frame GetResult(short token) => _core.GetResult(token);

        public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
