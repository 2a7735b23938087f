using System.Diagnostics;
using System.Security.Cryptography;

namespace Kiosk.Tests.Host;

/// <summary>
/// scripts/setup.sh against a private cache: damaged files are replaced, never used. The tarball test fetches the
/// package again through npm (from npm's own cache when it has it; the registry is reachable wherever the set-up
/// itself runs).
/// </summary>
public sealed class SetupScriptTests : IDisposable
{
    private readonly string _cache = Directory.CreateTempSubdirectory("kiosk-cache").FullName;
    private static string RealCache => Kiosk.Vision.KioskPaths.CacheDir;

    public SetupScriptTests()
    {
        // A private cache of hard links to the pinned files (no 275 MB copy). The script replaces files by rename,
        // never in place; the files a test damages are first turned into private copies (Damage).
        foreach (var sub in new[] { "npm", "models", "onnxruntime" })
        {
            using var cp = Process.Start(new ProcessStartInfo("cp", ["-al", Path.Combine(RealCache, sub), _cache]))!;
            cp.WaitForExit();
            Assert.Equal(0, cp.ExitCode);
        }
    }

    /// <summary>Replaces the link at <paramref name="rel"/> with a private copy, then returns its path.</summary>
    private string Damage(string rel)
    {
        string path = Path.Combine(_cache, rel);
        string real = Path.Combine(RealCache, rel);
        File.Delete(path);
        File.Copy(real, path);
        return path;
    }

    private (int Code, string Output) RunSetup()
    {
        var psi = new ProcessStartInfo("bash", [Path.Combine(TestPaths.RepoRoot, "scripts", "setup.sh")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["KIOSK_CACHE_DIR"] = _cache;
        psi.Environment["KIOSK_SETUP_SKIP_APT"] = "1"; // the system's packages are not this test's business
        using var p = Process.Start(psi)!;
        string output = p.StandardError.ReadToEndAsync().Result + p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    private static string Pinned(string rel) =>
        File.ReadLines(Path.Combine(TestPaths.RepoRoot, "config", "assets.lock"))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Single(f => f.Length >= 2 && f[1] == rel)[0];

    [Fact]
    public void A_truncated_model_is_detected_and_restored_from_the_verified_tarball()
    {
        const string rel = "models/default/fr_feature.onnx";
        string path = Damage(rel);
        using (var f = File.Open(path, FileMode.Open)) f.SetLength(1000);

        var (code, output) = RunSetup();

        Assert.True(code == 0, output);
        Assert.Contains("hash mismatch", output);
        Assert.Equal(Pinned(rel), Sha(path));
    }

    [Fact]
    public void A_corrupt_package_tarball_is_fetched_again_and_a_second_run_does_nothing()
    {
        const string rel = "npm/faceplugin-face-recognition-js-0.0.1.tgz";
        string path = Damage(rel);
        File.AppendAllText(path, "garbage");
        File.Delete(Path.Combine(_cache, "models/default/fr_detect.onnx"));

        var (code, output) = RunSetup();
        Assert.True(code == 0, output);
        Assert.Contains("fetching faceplugin-face-recognition-js@0.0.1", output);
        Assert.Equal(Pinned(rel), Sha(path));
        Assert.Equal(Pinned("models/default/fr_detect.onnx"), Sha(Path.Combine(_cache, "models/default/fr_detect.onnx")));

        var (again, quiet) = RunSetup();
        Assert.Equal(0, again);
        Assert.DoesNotContain("fetching", quiet);
        Assert.DoesNotContain("installed", quiet);
    }

    public void Dispose() => Directory.Delete(_cache, recursive: true);
}
