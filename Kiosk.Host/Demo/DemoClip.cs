using System.Diagnostics;
using System.Globalization;

namespace Kiosk.Host.Demo;

/// <summary>One person walking up to the camera in the demo clip: a photo, shown for a few seconds, zooming in.</summary>
public sealed record ClipVisit(string Photo, TimeSpan Duration);

/// <summary>
/// Builds the demo's camera clip with ffmpeg from still photos: each visit is its photo fitted to the frame and
/// zooming in (someone approaching), separated by empty grey frames (nobody there). H.264, 640x480 by default.
/// </summary>
public static class DemoClip
{
    public static void Build(IReadOnlyList<ClipVisit> visits, string output, int width = 640, int height = 480, int fps = 15,
        TimeSpan? gap = null, string ffmpeg = "ffmpeg")
    {
        if (visits.Count == 0) throw new ArgumentException("a clip needs at least one visit");
        var g = gap ?? TimeSpan.FromSeconds(1);
        string work = Directory.CreateTempSubdirectory("kiosk-clip-").FullName;
        try
        {
            var parts = new List<string>();
            string F(double v) => v.ToString("0.###", CultureInfo.InvariantCulture);
            string Encode(string file) => $"-c:v libx264 -preset veryfast -pix_fmt yuv420p -g {fps} -r {fps} \"{file}\"";
            string blank = Path.Combine(work, "blank.mp4");
            Run(ffmpeg, $"-f lavfi -i color=c=0x505050:s={width}x{height}:r={fps} -t {F(g.TotalSeconds)} {Encode(blank)}");
            parts.Add(blank);
            int i = 0;
            foreach (var v in visits)
            {
                if (!File.Exists(v.Photo)) throw new FileNotFoundException($"demo photo {v.Photo} not found");
                string seg = Path.Combine(work, $"visit{++i}.mp4");
                int frames = (int)Math.Round(v.Duration.TotalSeconds * fps);
                // Fit the photo into a double-size canvas, then zoom from the whole canvas towards its centre.
                string filter = $"scale={2 * width}:{2 * height}:force_original_aspect_ratio=decrease," +
                                $"pad={2 * width}:{2 * height}:(ow-iw)/2:(oh-ih)/2:color=0x505050," +
                                $"zoompan=z='1+0.5*on/{frames}':d=1:x='iw/2-(iw/zoom/2)':y='ih/2-(ih/zoom/2)':s={width}x{height}:fps={fps}";
                Run(ffmpeg, $"-loop 1 -framerate {fps} -t {F(v.Duration.TotalSeconds)} -i \"{v.Photo}\" -vf \"{filter}\" {Encode(seg)}");
                parts.Add(seg);
                parts.Add(blank);
            }
            string list = Path.Combine(work, "parts.txt");
            File.WriteAllLines(list, parts.Select(p => $"file '{p}'"));
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
            Run(ffmpeg, $"-f concat -safe 0 -i \"{list}\" -c copy -movflags +faststart \"{output}\"");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static void Run(string ffmpeg, string args)
    {
        var psi = new ProcessStartInfo(ffmpeg, "-nostdin -loglevel error -y " + args) { RedirectStandardError = true, UseShellExecute = false };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("ffmpeg did not start");
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ffmpeg failed ({p.ExitCode}): {err.Trim()}");
    }
}
