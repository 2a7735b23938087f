namespace Kiosk.Tests;

/// <summary>
/// Locations of the checkout and of the read-only shared folder beside it (<c>../shared</c>), overridable with
/// the KIOSK_SHARED_DIR environment variable.
/// </summary>
public static class TestPaths
{
    private static readonly Lazy<string> s_repoRoot = new(FindRepoRoot);

    /// <summary>The folder holding Kiosk.sln, found by walking up from the test assembly.</summary>
    public static string RepoRoot => s_repoRoot.Value;

    public static string SharedDir =>
        Environment.GetEnvironmentVariable("KIOSK_SHARED_DIR") is { Length: > 0 } dir
            ? Path.GetFullPath(dir)
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string PairsDev => Path.Combine(SharedDir, "datasets", "pairs-dev");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kiosk.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"No Kiosk.sln in {AppContext.BaseDirectory} or any parent folder.");
    }
}
