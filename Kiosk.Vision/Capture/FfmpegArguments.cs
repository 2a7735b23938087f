using System.Globalization;
using System.Text.RegularExpressions;

namespace Kiosk.Vision.Capture;

/// <summary>The ffmpeg command line for a <see cref="FrameSourceOptions"/>, and the redaction of what ffmpeg says back.</summary>
internal static partial class FfmpegArguments
{
    /// <summary>
    /// Arguments (without the executable) that make ffmpeg write <c>Width*Height*3</c>-byte BGR24 frames to its
    /// standard output, one after the other, and nothing else; errors only on standard error.
    /// </summary>
    public static List<string> Build(FrameSourceOptions o)
    {
        string size = string.Create(CultureInfo.InvariantCulture, $"{o.Width}x{o.Height}");
        var args = new List<string> { "-hide_banner", "-nostdin", "-loglevel", "error" };
        switch (o.Kind)
        {
            case FrameSourceKind.V4l2:
                args.AddRange(["-f", "v4l2", "-input_format", o.InputFormat, "-video_size", size,
                    "-framerate", o.FrameRate.ToString(CultureInfo.InvariantCulture), "-i", o.Device]);
                break;
            case FrameSourceKind.Network:
                if (o.Device.StartsWith("rtsp", StringComparison.OrdinalIgnoreCase))
                {
                    args.AddRange(["-rtsp_transport", "tcp"]);
                }
                args.AddRange(["-i", o.Device]);
                break;
            case FrameSourceKind.File:
                if (o.Realtime) args.Add("-re");
                if (o.Loop) args.AddRange(["-stream_loop", "-1"]);
                // file: so that a name with a colon is not taken for a protocol, nor one starting with '-' for an option.
                args.AddRange(["-i", "file:" + o.Device]);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(o), o.Kind, "unknown frame source kind");
        }
        // First video stream only; passthrough so ffmpeg neither duplicates nor drops frames to make a constant rate
        // (a duplicated frame would hide a stalled camera, and dropping is the reader's job).
        args.AddRange(["-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", string.Create(CultureInfo.InvariantCulture, $"scale={o.Width}:{o.Height}"),
            "-fps_mode", "passthrough", "-pix_fmt", "bgr24", "-f", "rawvideo", "pipe:1"]);
        return args;
    }

    /// <summary>The user-info part of any URL in <paramref name="text"/> replaced by <c>***</c>: camera URLs carry passwords.</summary>
    public static string Redact(string text) => UserInfo().Replace(text, "://***@");

    [GeneratedRegex(@"://[^/@\s]+@", RegexOptions.CultureInvariant)]
    private static partial Regex UserInfo();
}
