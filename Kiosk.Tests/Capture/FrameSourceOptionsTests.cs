using Kiosk.Vision.Capture;

namespace Kiosk.Tests.Capture;

public sealed class FrameSourceOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_ask_a_v4l2_camera_for_640x480_mjpeg_at_15_fps()
    {
        var options = new FrameSourceOptions();
        options.Validate();
        Assert.Equal(
            ["-hide_banner", "-nostdin", "-loglevel", "error",
             "-f", "v4l2", "-input_format", "mjpeg", "-video_size", "640x480", "-framerate", "15", "-i", "/dev/video0",
             "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", "scale=640:480", "-fps_mode", "passthrough",
             "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"],
            FfmpegArguments.Build(options));
    }

    public static TheoryData<FrameSourceOptions, string> BadSettings => new()
    {
        { new() { Kind = (FrameSourceKind)7 }, "Camera:Kind" },
        { new() { Device = "" }, "Camera:Device" },
        { new() { Device = " /dev/video0" }, "Camera:Device" },
        { new() { Kind = FrameSourceKind.Network, Device = "/dev/video0" }, "Camera:Device" },
        { new() { Kind = FrameSourceKind.Network, Device = "ftp://camera/stream" }, "Camera:Device" },
        { new() { Width = 0 }, "Camera:Width" },
        { new() { Width = 5000 }, "Camera:Width" },
        { new() { Height = 8 }, "Camera:Height" },
        { new() { FrameRate = 0 }, "Camera:FrameRate" },
        { new() { FrameRate = 500 }, "Camera:FrameRate" },
        { new() { InputFormat = "h264" }, "Camera:InputFormat" },
        { new() { StallTimeout = TimeSpan.Zero }, "Camera:StallTimeout" },
        { new() { StallTimeout = TimeSpan.FromSeconds(20) }, "Camera:StartTimeout" },
        { new() { RestartBackoffMin = TimeSpan.Zero }, "Camera:RestartBackoffMin" },
        { new() { RestartBackoffMin = TimeSpan.FromSeconds(5), RestartBackoffMax = TimeSpan.FromSeconds(2) }, "Camera:RestartBackoffMax" },
        { new() { RestartBackoffMax = TimeSpan.FromDays(1) }, "Camera:RestartBackoffMax" },
        { new() { FfmpegPath = " " }, "Camera:FfmpegPath" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void A_bad_setting_is_rejected_with_its_key_in_the_message(FrameSourceOptions options, string key)
    {
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(key, e.ParamName);
        Assert.StartsWith(key + " ", e.Message);
        // The constructor validates too.
        Assert.Equal(key, Assert.Throws<ArgumentException>(() => new FfmpegFrameSource(options)).ParamName);
    }

    [Fact]
    public void The_input_format_is_only_checked_for_a_v4l2_device()
    {
        new FrameSourceOptions { Kind = FrameSourceKind.File, Device = "clip.mp4", InputFormat = "" }.Validate();
        new FrameSourceOptions { InputFormat = "yuyv422" }.Validate();
    }

    [Fact]
    public void A_bad_camera_url_is_not_repeated_in_the_error_since_it_may_hold_a_password()
    {
        var options = new FrameSourceOptions { Kind = FrameSourceKind.Network, Device = "gopher://admin:s3cret@camera/1" };
        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.DoesNotContain("s3cret", e.Message);
    }

    [Fact]
    public void Rtsp_goes_over_tcp_and_http_is_opened_as_it_is()
    {
        List<string> rtsp = FfmpegArguments.Build(new FrameSourceOptions { Kind = FrameSourceKind.Network, Device = "rtsp://cam.local/stream1" });
        Assert.Equal(["-rtsp_transport", "tcp", "-i", "rtsp://cam.local/stream1"], rtsp[4..8]);

        List<string> http = FfmpegArguments.Build(new FrameSourceOptions { Kind = FrameSourceKind.Network, Device = "http://cam.local/video.mjpg" });
        Assert.Equal(["-i", "http://cam.local/video.mjpg", "-map"], http[4..7]);
        Assert.DoesNotContain("-rtsp_transport", http);
    }

    [Theory]
    [InlineData(false, false, new[] { "-i", "file:/videos/door.mp4" })]
    [InlineData(true, false, new[] { "-re", "-i", "file:/videos/door.mp4" })]
    [InlineData(false, true, new[] { "-stream_loop", "-1", "-i", "file:/videos/door.mp4" })]
    [InlineData(true, true, new[] { "-re", "-stream_loop", "-1", "-i", "file:/videos/door.mp4" })]
    public void A_file_is_paced_and_looped_only_when_asked(bool realtime, bool loop, string[] input)
    {
        List<string> args = FfmpegArguments.Build(new FrameSourceOptions
        {
            Kind = FrameSourceKind.File, Device = "/videos/door.mp4", Realtime = realtime, Loop = loop, Width = 320, Height = 240,
        });
        Assert.Equal(input, args[4..(4 + input.Length)]);
        Assert.Equal(["-vf", "scale=320:240"], args[(args.IndexOf("-vf"))..(args.IndexOf("-vf") + 2)]);
        Assert.Equal("pipe:1", args[^1]);
    }

    [Fact]
    public void The_backoff_doubles_from_the_minimum_and_stops_at_the_maximum()
    {
        TimeSpan min = TimeSpan.FromSeconds(1), max = TimeSpan.FromSeconds(30);
        Assert.Equal([1, 2, 4, 8, 16, 30, 30], Enumerable.Range(1, 7).Select(n => FfmpegFrameSource.Backoff(n, min, max).TotalSeconds));
        Assert.Equal(max, FfmpegFrameSource.Backoff(1000, min, max));
    }

    [Fact]
    public void Passwords_in_camera_urls_are_redacted()
    {
        Assert.Equal("rtsp://***@10.0.0.7:554/stream: Connection refused",
            FfmpegArguments.Redact("rtsp://admin:s3cret@10.0.0.7:554/stream: Connection refused"));
        Assert.Equal("/dev/video0: No such file or directory", FfmpegArguments.Redact("/dev/video0: No such file or directory"));
    }
}
