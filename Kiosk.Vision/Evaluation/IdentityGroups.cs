namespace Kiosk.Vision.Evaluation;

/// <summary>
/// Identities from labelled pairs: images joined by a "same" pair (directly or through others) are one person.
/// A "different" pair inside one group is a contradiction in the labels and is refused.
/// </summary>
public static class IdentityGroups
{
    public static IReadOnlyList<IReadOnlyList<string>> FromPairs(IEnumerable<FacePair> pairs)
    {
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        string Find(string x)
        {
            if (!parent.TryGetValue(x, out var p)) { parent[x] = x; return x; }
            while (p != x) { var gp = parent[p]; parent[x] = gp; x = p; p = gp; }
            return x;
        }
        var list = pairs.ToList();
        foreach (var pair in list)
        {
            string a = Find(pair.FileA), b = Find(pair.FileB);
            if (pair.Same && a != b) parent[a] = b;
        }
        foreach (var pair in list.Where(p => !p.Same))
            if (Find(pair.FileA) == Find(pair.FileB))
                throw new InvalidDataException($"labels contradict each other: {pair.FileA} and {pair.FileB} are marked different but linked as the same person");
        return parent.Keys.GroupBy(Find, StringComparer.Ordinal)
            .Select(g => (IReadOnlyList<string>)g.Order(StringComparer.Ordinal).ToList())
            .OrderByDescending(g => g.Count).ThenBy(g => g[0], StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// Writes a folder per identity with at least <paramref name="minImages"/> images (person-01, person-02, ...,
    /// largest first), each holding symbolic links to the images. Returns the number of folders.
    /// </summary>
    public static int WriteFolders(IReadOnlyList<IReadOnlyList<string>> groups, string imageDir, string outDir, int minImages = 2)
    {
        Directory.CreateDirectory(outDir);
        int n = 0;
        foreach (var group in groups.Where(g => g.Count >= minImages))
        {
            string person = Path.Combine(outDir, $"person-{++n:D2}");
            Directory.CreateDirectory(person);
            foreach (var image in group)
            {
                string link = Path.Combine(person, image);
                if (File.Exists(link) || Directory.Exists(link)) File.Delete(link);
                File.CreateSymbolicLink(link, Path.GetFullPath(Path.Combine(imageDir, image)));
            }
        }
        return n;
    }
}
