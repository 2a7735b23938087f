using Kiosk.Tests.Faces;
using Kiosk.Vision.Evaluation;
using Kiosk.Vision.Matching;
using Xunit.Abstractions;

namespace Kiosk.Tests.Matching;

/// <summary>
/// The index on real embeddings: the largest face of every pairs-dev photo through the default models, persons from
/// the labelled same-person pairs. Each photo in turn is taken out of the gallery and searched for, as a new photo
/// of an enrolled person would be.
/// </summary>
[Collection(ModelCollection.Name)]
public sealed class RealEmbeddingIndexTests(PipelineFixture fx, ITestOutputHelper output) : IClassFixture<PipelineFixture>
{
    [Fact]
    public void Float16_finds_the_same_person_as_float32_and_int8_differs_only_on_near_ties()
    {
        var faces = EmbedGallery();
        Assert.True(faces.Count >= 50, $"only {faces.Count} photos with a face");
        var indexes = Enum.GetValues<VectorPrecision>().Select(p =>
        {
            var index = new FaceIndex(faces[0].Embedding.Length, p);
            for (int i = 0; i < faces.Count; i++) index.Add(faces[i].Person, i, faces[i].Embedding);
            return index;
        }).ToArray();

        var top = new Match[3];
        var worst = new float[indexes.Length];
        int sameAsFloat32Int8 = 0;
        for (int i = 0; i < faces.Count; i++)
        {
            var found = new Match[indexes.Length][];
            for (int p = 0; p < indexes.Length; p++)
            {
                Assert.True(indexes[p].RemoveTemplate(i));
                int n = indexes[p].Search(faces[i].Embedding, top);
                found[p] = top[..n];
                indexes[p].Add(faces[i].Person, i, faces[i].Embedding);
            }
            var f32 = found[0];
            for (int p = 1; p < indexes.Length; p++)
                for (int k = 0; k < f32.Length; k++)
                {
                    // The same person's score in the other precision, wherever it ranks.
                    var other = Array.Find(found[p], m => m.PersonId == f32[k].PersonId);
                    if (other != default) worst[p] = Math.Max(worst[p], Math.Abs(other.Score - f32[k].Score));
                }
            Assert.Equal(f32[0].PersonId, found[1][0].PersonId);
            if (found[2][0].PersonId == f32[0].PersonId) sameAsFloat32Int8++;
            else Assert.True(f32[0].Score - f32[1].Score < 2 * worst[2], $"photo {faces[i].File}: int8 differs on a clear call");
        }
        output.WriteLine($"{faces.Count} photos, {faces.Select(f => f.Person).Distinct().Count()} persons; largest score difference to float32: " +
            $"float16 {worst[1]:F5}, int8 {worst[2]:F5}; int8 top-1 same as float32 for {sameAsFloat32Int8} of {faces.Count}");
        Assert.True(worst[1] <= 2e-3f, $"float16 score off by {worst[1]}");
        Assert.True(worst[2] <= 1e-2f, $"int8 score off by {worst[2]}");
    }

    private sealed record Face(string File, long Person, float[] Embedding);

    /// <summary>The largest face of each photo, its person the smallest photo index among those labelled the same.</summary>
    private List<Face> EmbedGallery()
    {
        var files = Directory.GetFiles(TestPaths.PairsDev, "*.jpg").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        var parent = Enumerable.Range(0, files.Count).ToArray();
        int Find(int x) => parent[x] == x ? x : parent[x] = Find(parent[x]);
        foreach (string list in new[] { "master.csv", "face-recognition-pivot.csv" })
            foreach (var pair in PairListReader.Read(Path.Combine(TestPaths.PairsDev, list)).Where(p => p.Same))
            {
                int a = files.IndexOf(pair.FileA), b = files.IndexOf(pair.FileB);
                if (a >= 0 && b >= 0) parent[Math.Max(Find(a), Find(b))] = Math.Min(Find(a), Find(b));
            }
        var faces = new List<Face>();
        for (int i = 0; i < files.Count; i++)
        {
            var found = fx.Single.Analyze(PipelineFixture.Load(files[i]), largestOnly: true);
            if (found.Count > 0) faces.Add(new Face(files[i], Find(i), found[0].Embedding));
        }
        return faces;
    }
}
