using System.Diagnostics;
using Kiosk.Vision.Capture;

namespace Kiosk.Tests.Capture;

/// <summary>Frames from a real ffmpeg decoding a generated clip, checked against ffmpeg's own decode of the same frame.</summary>
[Collection(CaptureCollection.Name)]
public sealed class FfmpegFrameSourceTests(CaptureFixture clips)
{
    [Fact]
    public async Task Frames_have_the_configured_size_and_the_pixels_of_that_clip_frame()
    {
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: false));
        await source.StartAsync(CancellationToken.None);

        long previous = 0;
        byte[]? previousPixels = null;
        for (int i = 0; i < 20; i++)
        {
            using Frame frame = await source.NextFrameWithin();
            Assert.Equal((CaptureFixture.Width, CaptureFixture.Height, CaptureFixture.Width * 3),
                (frame.Image.Width, frame.Image.Height, frame.Image.Stride));
            Assert.True(frame.Sequence > previous, $"sequence {frame.Sequence} after {previous}");
            Assert.True(frame.Image.Pixels.SequenceEqual(clips.ReferenceFor(frame.Sequence)),
                $"frame {frame.Sequence} differs from ffmpeg's decode of clip frame {(frame.Sequence - 1) % CaptureFixture.ClipFrames}");
            Assert.True(frame.Image.Pixels.ContainsAnyExcept(frame.Image.Pixels[0]), "uniform image");
            if (previousPixels is not null && (frame.Sequence - previous) % CaptureFixture.ClipFrames != 0)
            {
                Assert.False(frame.Image.Pixels.SequenceEqual(previousPixels), $"frame {frame.Sequence} repeats frame {previous}");
            }
            previous = frame.Sequence;
            previousPixels = frame.Image.Pixels.ToArray();
        }
        FrameSourceStatus status = source.Status;
        Assert.Equal(FrameSourceState.Running, status.State);
        Assert.Equal(0, status.Restarts);
        Assert.Null(status.LastError);
        Assert.NotNull(status.LastFrameUtc);
    }

    [Fact]
    public async Task A_realtime_file_is_paced_at_its_native_rate()
    {
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: false, realtime: true));
        await source.StartAsync(CancellationToken.None);

        Frame first = await source.NextFrameWithin();
        long firstSequence = first.Sequence, firstTicks = first.MonotonicTicks;
        first.Dispose();
        long sequence;
        do
        {
            using Frame frame = await source.NextFrameWithin();
            sequence = frame.Sequence;
            if (sequence >= firstSequence + 15)
            {
                // 15 frame intervals at 15 fps: a second (a little less if the first frame came late).
                TimeSpan elapsed = Stopwatch.GetElapsedTime(firstTicks, frame.MonotonicTicks);
                Assert.InRange(elapsed.TotalSeconds, 0.8, 4);
            }
        }
        while (sequence < firstSequence + 15);
    }

    [Fact]
    public async Task A_slow_consumer_always_gets_the_newest_frame_and_the_skipped_ones_are_counted_as_dropped()
    {
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: false));
        await source.StartAsync(CancellationToken.None);

        (await source.NextFrameWithin()).Dispose();
        long previous = 0;
        int received = 0;
        for (int i = 0; i < 5; i++)
        {
            await Task.Delay(100); // the work of a slow consumer; ffmpeg decodes this clip at hundreds of fps
            long readBefore = source.Status.FramesRead;
            using Frame frame = await source.NextFrameWithin();
            received++;
            Assert.True(frame.Sequence >= readBefore, $"got frame {frame.Sequence} when {readBefore} had been read");
            Assert.True(frame.Sequence > previous + 1, $"no frame dropped between {previous} and {frame.Sequence}");
            Assert.True(frame.Image.Pixels.SequenceEqual(clips.ReferenceFor(frame.Sequence)), $"frame {frame.Sequence} has torn or stale pixels");
            previous = frame.Sequence;
        }

        FrameSourceStatus status = source.Status;
        Assert.True(status.FramesDropped >= 5, $"only {status.FramesDropped} dropped");
        // Every frame read was handed out, dropped, or is the newest waiting (at most one), plus the first one taken.
        Assert.InRange(status.FramesRead - status.FramesDropped - (received + 1), 0, 1);
    }

    [Fact]
    public async Task A_looped_file_keeps_delivering_past_its_end_without_a_restart()
    {
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: false));
        await source.StartAsync(CancellationToken.None);

        using (Frame first = await source.NextFrameWithin()) { }
        int? pid = source.ProcessId;
        Assert.NotNull(pid);
        long sequence = 0;
        while (sequence <= 2 * CaptureFixture.ClipFrames + 10)
        {
            using Frame frame = await source.NextFrameWithin();
            sequence = frame.Sequence;
            Assert.True(frame.Image.Pixels.SequenceEqual(clips.ReferenceFor(frame.Sequence)), $"frame {frame.Sequence} is not clip frame {(sequence - 1) % CaptureFixture.ClipFrames}");
        }
        Assert.Equal(pid, source.ProcessId);
        Assert.Equal(0, source.Status.Restarts);
        Assert.Equal(FrameSourceState.Running, source.Status.State);
    }

    [Fact]
    public async Task A_file_that_is_not_looped_stops_at_its_end_and_the_consumer_then_waits()
    {
        var logger = new RecordingLogger<FfmpegFrameSource>();
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: false, realtime: false), logger);
        var statuses = new StatusRecorder(source);
        await source.StartAsync(CancellationToken.None);

        FrameSourceStatus stopped = await statuses.WaitFor(s => s.State == FrameSourceState.Stopped, "Stopped");
        Assert.Equal(CaptureFixture.ClipFrames, stopped.FramesRead);
        Assert.Equal(0, stopped.Restarts);
        Assert.Null(stopped.LastError);
        Assert.Equal([FrameSourceState.Starting, FrameSourceState.Running, FrameSourceState.Stopped], statuses.States);
        Assert.Equal(1, logger.Count(Microsoft.Extensions.Logging.LogLevel.Information, 1005));

        // The last frame is still there to take; after it nothing comes, and the wait ends only by cancellation.
        using (Frame last = await source.NextFrameWithin())
        {
            Assert.Equal(CaptureFixture.ClipFrames, last.Sequence);
        }
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.NextFrameAsync(cts.Token));
        Assert.Null(source.ProcessId);
    }

    [Fact]
    public async Task A_frame_keeps_its_pixels_while_the_consumer_holds_it_and_newer_ones()
    {
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: false));
        await source.StartAsync(CancellationToken.None);

        var held = new List<Frame>();
        long lastHeld;
        try
        {
            Frame first = await source.NextFrameWithin();
            held.Add(first);
            byte[] copy = first.Image.Pixels.ToArray();
            for (int i = 0; i < 4; i++)
            {
                await Task.Delay(30); // ffmpeg reads on meanwhile, into the other buffers
                held.Add(await source.NextFrameWithin());
            }
            Assert.Equal(held.Count, held.Select(f => f.Image).Distinct().Count());
            Assert.True(first.Image.Pixels.SequenceEqual(copy), "a lent frame was overwritten");
            foreach (Frame f in held)
            {
                Assert.True(f.Image.Pixels.SequenceEqual(clips.ReferenceFor(f.Sequence)), $"frame {f.Sequence} changed while lent");
            }
            lastHeld = held[^1].Sequence; // not after Dispose: the pooled object is then reused for newer frames
        }
        finally
        {
            foreach (Frame f in held) f.Dispose();
        }
        // Back to one at a time, from a pool that grew to fit.
        using Frame after = await source.NextFrameWithin();
        Assert.True(after.Sequence > lastHeld);
    }

    [Fact]
    public async Task A_consumer_holding_every_spare_buffer_gets_new_frames_once_it_gives_one_back()
    {
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: false));
        await source.StartAsync(CancellationToken.None);

        var held = new List<Frame>();
        // The reader always keeps one buffer: the consumer can hold at most MaxPoolSize - 1.
        for (int i = 0; i < FfmpegFrameSource.MaxPoolSize - 1; i++) held.Add(await source.NextFrameWithin());
        long droppedBefore = source.Status.FramesDropped;
        using (var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await source.NextFrameAsync(cts.Token));
        }
        Assert.True(source.Status.FramesDropped > droppedBefore + 10, "frames were not dropped while the pool was exhausted");
        foreach (Frame f in held)
        {
            Assert.True(f.Image.Pixels.SequenceEqual(clips.ReferenceFor(f.Sequence)), $"frame {f.Sequence} changed while lent");
        }

        held[0].Dispose();
        held[0].Dispose(); // a second Dispose is harmless
        using Frame next = await source.NextFrameWithin();
        Assert.True(next.Sequence > held[^1].Sequence);
        foreach (Frame f in held.Skip(1)) f.Dispose();
    }

    [Fact]
    public async Task A_status_handler_that_throws_is_logged_and_does_not_stop_the_camera()
    {
        var logger = new RecordingLogger<FfmpegFrameSource>();
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: false), logger);
        source.StatusChanged += _ => throw new InvalidOperationException("handler bug");
        await source.StartAsync(CancellationToken.None);

        for (int i = 0; i < 3; i++)
        {
            using Frame frame = await source.NextFrameWithin();
        }
        Assert.Equal(FrameSourceState.Running, source.Status.State);
        Assert.True(logger.Count(Microsoft.Extensions.Logging.LogLevel.Error, 1011) >= 2); // Starting and Running
    }

    [Fact]
    public async Task The_capture_thread_allocates_nothing_per_frame()
    {
        await using var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: false));
        await source.StartAsync(CancellationToken.None);
        using var stop = new CancellationTokenSource();
        long consumed = 0;
        Task consumer = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    using Frame frame = await source.NextFrameAsync(stop.Token);
                    consumed++;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        });

        // Warm-up past tiered compilation and the pool's first growth; then 100 more frames, some handed straight
        // to the waiting consumer, some published, some dropped.
        await CaptureTestExtensions.Eventually(() => source.Status.FramesRead >= 300, "300 frames read");
        long before = source.CaptureThreadAllocatedBytes;
        long readBefore = source.Status.FramesRead;
        await CaptureTestExtensions.Eventually(() => source.Status.FramesRead >= readBefore + 100, "100 more frames read");
        long after = source.CaptureThreadAllocatedBytes;
        await stop.CancelAsync();
        await consumer;

        Assert.True(consumed > 20, $"the consumer got only {consumed} frames");
        Assert.Equal(0, after - before);
    }

    [Fact]
    public async Task Only_one_wait_at_a_time_and_a_cancelled_wait_leaves_the_source_working()
    {
        string path = clips.NewPath("later.mp4");
        FrameSourceOptions options = clips.ClipOptions(loop: true, realtime: true) with { Device = path };
        await using var source = new FfmpegFrameSource(options);
        await source.StartAsync(CancellationToken.None);

        using var cts = new CancellationTokenSource();
        ValueTask<Frame> pending = source.NextFrameAsync(cts.Token);
        Assert.False(pending.IsCompleted);
        Assert.Throws<InvalidOperationException>(() => source.NextFrameAsync(CancellationToken.None));
        await cts.CancelAsync();
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
        Assert.Equal(cts.Token, cancelled.CancellationToken);

        File.Copy(clips.ClipPath, path + ".tmp");
        File.Move(path + ".tmp", path);
        using Frame frame = await source.NextFrameWithin();
        Assert.True(frame.Image.Pixels.SequenceEqual(clips.ReferenceFor(frame.Sequence)));
    }

    [Fact]
    public async Task Dispose_kills_ffmpeg_returns_promptly_and_fails_later_calls()
    {
        var source = new FfmpegFrameSource(clips.ClipOptions(loop: true, realtime: true));
        var statuses = new StatusRecorder(source);
        await source.StartAsync(CancellationToken.None);
        Frame lent = await source.NextFrameWithin();
        int pid = source.ProcessId ?? throw new InvalidOperationException("no ffmpeg");
        Assert.True(CaptureTestExtensions.ProcessExists(pid));

        var sw = Stopwatch.StartNew();
        await source.DisposeAsync();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"DisposeAsync took {sw.Elapsed}");
        Assert.False(CaptureTestExtensions.ProcessExists(pid), $"ffmpeg {pid} still runs");
        Assert.Equal(FrameSourceState.Stopped, source.Status.State);
        Assert.Equal(FrameSourceState.Stopped, statuses.States[^1]);
        Assert.Throws<ObjectDisposedException>(() => source.NextFrameAsync(CancellationToken.None));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => source.StartAsync(CancellationToken.None));
        lent.Dispose(); // still fine after the source is gone
        await source.DisposeAsync(); // and twice
    }

    [Fact]
    public async Task Dispose_fails_a_pending_wait()
    {
        FrameSourceOptions options = clips.ClipOptions(loop: false, realtime: true) with { Device = clips.NewPath("never.mp4") };
        var source = new FfmpegFrameSource(options);
        await source.StartAsync(CancellationToken.None);
        ValueTask<Frame> pending = source.NextFrameAsync(CancellationToken.None);
        await Task.Delay(200);
        Assert.False(pending.IsCompleted);

        await source.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await pending);
    }
}
