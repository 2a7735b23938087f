namespace Kiosk.Host.Cli;

/// <summary>
/// The labelled demo photos (shared/datasets/pairs-dev): under $KIOSK_SHARED_DIR, else in ../shared beside the
/// checkout the program was built in.
/// </summary>
internal static class SharedData
{
    /// <summary>The folder, or null when neither place has it.</summary>
    public static string? PairsDev()
    {
        if (Environment.GetEnvironmentVariable("KIOSK_SHARED_DIR") is { Length: > 0 } shared)
            return Existing(Path.Combine(shared, "datasets", "pairs-dev"));
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (dir.GetFiles("Kiosk.sln").Length > 0)
                return Existing(Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets", "pairs-dev")));
        return null;
    }

    private static string? Existing(string dir) => Directory.Exists(dir) ? dir : null;
}
