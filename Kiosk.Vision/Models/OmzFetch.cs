namespace Kiosk.Vision.Models;

/// <summary>
/// What `kiosk models fetch` downloads for an Open Model Zoo model: the files of one precision, from the URLs of its
/// model.yml (or the same paths on a mirror), to &lt;models&gt;/omz/&lt;name&gt;/&lt;precision&gt;/, each with its pinned
/// size and SHA-384.
/// </summary>
public static class OmzFetch
{
    /// <summary>Where the Open Model Zoo's model.yml files point.</summary>
    public static readonly Uri OfficialHost = new("https://storage.openvinotoolkit.org/");

    /// <summary>The downloads for <paramref name="model"/> at <paramref name="precision"/>.</summary>
    /// <param name="mirror">
    /// A server holding the same paths as the official host (an internal mirror, a test server); null: the official URLs.
    /// </param>
    /// <exception cref="ModelDownloadException">the model has no files of that precision</exception>
    /// <param name="release">
    /// Which of the zoo's IR sets: <see cref="OmzDownloads.CurrentRelease"/> for OpenVINO 2023.0 and later, or
    /// <see cref="OmzDownloads.LtsRelease"/> for the 2022.3 LTS runtime (the last one with the NCS2).
    /// </param>
    public static IReadOnlyList<ModelDownload> Plan(OmzModel model, string precision, string modelsDir, Uri? mirror = null,
        string release = OmzDownloads.CurrentRelease)
    {
        var files = model.Files.Where(f => f.Precision == precision && f.Release == release).ToArray();
        if (files.Length == 0)
            throw new ModelDownloadException($"{model.Name} has no {precision} files for OpenVINO {release}; it comes in " +
                                             string.Join(", ", OmzDownloads.Precisions(model, release)));
        string dir = Path.Combine(modelsDir, "omz", model.Name);
        return files.Select(f => new ModelDownload(Locate(new Uri(f.Url), mirror), Path.Combine(dir, f.Name), f.Sha384, f.Size)).ToArray();
    }

    /// <summary>The URL on the mirror: same path (and query) below the mirror's own path.</summary>
    public static Uri Locate(Uri official, Uri? mirror)
    {
        if (mirror is null) return official;
        string basePath = mirror.AbsoluteUri.EndsWith('/') ? mirror.AbsoluteUri : mirror.AbsoluteUri + "/";
        return new Uri(new Uri(basePath), official.PathAndQuery.TrimStart('/'));
    }

    /// <summary>"FP16 (2022.3)"-style names of the IR sets of <paramref name="model"/> whose every file is in place with its pinned hash.</summary>
    public static IReadOnlyList<string> Installed(OmzModel model, string modelsDir)
    {
        var ok = new List<string>();
        var digests = new Dictionary<string, string?>(StringComparer.Ordinal); // each file hashed once, whichever sets it is in
        string? Sha384Of(string name)
        {
            if (digests.TryGetValue(name, out string? d)) return d;
            string path = Path.Combine(modelsDir, "omz", model.Name, name);
            return digests[name] = File.Exists(path) ? FileHash.Sha384Of(path) : null;
        }
        foreach (string release in OmzDownloads.Releases)
            foreach (string precision in OmzDownloads.Precisions(model, release))
                if (ModelFiles.IsWholeSet(model.Files.Where(f => f.Precision == precision && f.Release == release), Sha384Of))
                    ok.Add($"{precision} ({release})");
        return ok;
    }
}
