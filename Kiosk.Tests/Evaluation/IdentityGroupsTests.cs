using Kiosk.Vision.Evaluation;

namespace Kiosk.Tests.Evaluation;

public sealed class IdentityGroupsTests
{
    private static IReadOnlyList<IReadOnlyList<string>> PairsDevGroups() => IdentityGroups.FromPairs(
        PairListReader.Read(Path.Combine(TestPaths.PairsDev, "master.csv"))
            .Concat(PairListReader.Read(Path.Combine(TestPaths.PairsDev, "face-recognition-pivot.csv"))));

    [Fact]
    public void The_labelled_pairs_of_pairs_dev_form_thirteen_people_with_two_or_more_photos()
    {
        var groups = PairsDevGroups();
        Assert.Equal(13, groups.Count(g => g.Count >= 2));
        Assert.Equal(["img1.jpg", "img10.jpg", "img11.jpg", "img2.jpg", "img4.jpg", "img5.jpg", "img6.jpg", "img7.jpg"], groups[0]);
        Assert.Contains(groups, g => g.SequenceEqual(["img38.jpg", "img39.jpg", "img40.jpg", "img41.jpg"]));
        // Every image is in exactly one group.
        var all = groups.SelectMany(g => g).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public void A_different_pair_inside_one_identity_is_a_contradiction()
    {
        var pairs = new[] { new FacePair("a.jpg", "b.jpg", true), new FacePair("b.jpg", "c.jpg", true), new FacePair("a.jpg", "c.jpg", false) };
        var e = Assert.Throws<InvalidDataException>(() => IdentityGroups.FromPairs(pairs));
        Assert.Contains("a.jpg", e.Message);
    }

    [Fact]
    public void Folders_hold_links_to_the_photos_of_each_identity()
    {
        string outDir = Directory.CreateTempSubdirectory("kiosk-groups").FullName;
        try
        {
            int n = IdentityGroups.WriteFolders(PairsDevGroups(), TestPaths.PairsDev, outDir);
            Assert.Equal(13, n);
            var first = Path.Combine(outDir, "person-01");
            Assert.Equal(8, Directory.GetFiles(first).Length);
            Assert.Equal(File.ReadAllBytes(Path.Combine(TestPaths.PairsDev, "img1.jpg")), File.ReadAllBytes(Path.Combine(first, "img1.jpg")));
        }
        finally
        {
            Directory.Delete(outDir, true);
        }
    }
}
