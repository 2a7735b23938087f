namespace Kiosk.Tests;

/// <summary>Where the repository and the shared material (<c>../shared</c> beside it) are.</summary>
public static class TestPaths
{
    /// <summary>The folder holding Kiosk.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary><c>../shared</c> beside the repository, or the KIOSK_SHARED_DIR environment variable when set.</summary>
    public static string SharedDir { get; } =
        Environment.GetEnvironmentVariable("KIOSK_SHARED_DIR") is { Length: > 0 } dir
            ? Path.GetFullPath(dir)
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    /// <summary>The labelled pairs set, <c>shared/datasets/pairs-dev</c>.</summary>
    public static string PairsDev { get; } = Path.Combine(SharedDir, "datasets", "pairs-dev");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kiosk.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Kiosk.sln found above {AppContext.BaseDirectory}.");
    }
}
