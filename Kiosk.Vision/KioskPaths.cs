using System.Runtime.InteropServices;

namespace Kiosk.Vision;

/// <summary>
/// Where fetched assets live. Mirrors scripts/setup.sh: $KIOSK_CACHE_DIR, else $XDG_CACHE_HOME/kiosk, else
/// ~/.cache/kiosk.
/// </summary>
public static class KioskPaths
{
    public static string CacheDir
    {
        get
        {
            string? explicitDir = Environment.GetEnvironmentVariable("KIOSK_CACHE_DIR");
            if (!string.IsNullOrEmpty(explicitDir)) return explicitDir;
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "kiosk");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "kiosk");
        }
    }

    public static string ModelsDir => Path.Combine(CacheDir, "models");

    /// <summary>linux-x64 or linux-arm64: the folder names the set-up step uses for native libraries.</summary>
    public static string RuntimeId => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => "linux-x64",
        Architecture.Arm64 => "linux-arm64",
        var a => "linux-" + a.ToString().ToLowerInvariant(),
    };
}
