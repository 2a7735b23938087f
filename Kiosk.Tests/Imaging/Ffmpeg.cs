using System.Diagnostics;

namespace Kiosk.Tests.Imaging;

/// <summary>Runs the system ffmpeg as an independent reference decoder/encoder for the imaging tests.</summary>
internal static class Ffmpeg
{
    /// <summary>Runs ffmpeg with the given arguments and returns its standard output; throws with stderr on failure.</summary>
    public static byte[] Run(params string[] args)
    {
        var info = new ProcessStartInfo("ffmpeg")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["-nostdin", "-hide_banner", "-v", "error", .. args])
        {
            info.ArgumentList.Add(a);
        }
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("ffmpeg did not start (is it installed?)");
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var stdout = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(stdout);
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result}");
        }
        return stdout.ToArray();
    }

    /// <summary>Decodes an image file to raw pixels in <paramref name="pixelFormat"/> (e.g. bgr24, rgb48be, gray).</summary>
    public static byte[] DecodeRaw(string path, string pixelFormat) =>
        Run("-i", path, "-f", "rawvideo", "-pix_fmt", pixelFormat, "-");

    /// <summary>Converts <paramref name="input"/> to <paramref name="output"/> with extra output options.</summary>
    public static void Convert(string input, string output, params string[] options) =>
        Run(["-y", "-i", input, .. options, output]);

    public static (int Width, int Height) Probe(string path)
    {
        var info = new ProcessStartInfo("ffprobe")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in (string[])["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path])
        {
            info.ArgumentList.Add(a);
        }
        using Process process = Process.Start(info) ?? throw new InvalidOperationException("ffprobe did not start");
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string[] parts = output.Trim().Split(',');
        if (process.ExitCode != 0 || parts.Length != 2)
        {
            throw new InvalidOperationException($"ffprobe failed on {path}: '{output}' {process.StandardError.ReadToEnd()}");
        }
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }
}
