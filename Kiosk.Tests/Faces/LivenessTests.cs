using Kiosk.Vision.Faces;
using Kiosk.Vision.Inference;

namespace Kiosk.Tests.Faces;

/// <summary>fr_liveness on real photos: the mechanism, and the class distribution the gate's default relies on.</summary>
[Collection(ModelCollection.Name)]
public sealed class LivenessTests(PipelineFixture fx) : IClassFixture<PipelineFixture>
{
    [Fact]
    public void Scores_are_probabilities_and_the_same_face_scores_the_same()
    {
        using var checker = new LivenessChecker(LivenessSpec.Default, new InferenceOptions { Threads = 1 });
        var image = PipelineFixture.Load("img1.jpg");
        var box = fx.Single.Analyze(image, largestOnly: true)[0].Detection.Box;
        Span<float> p = stackalloc float[3];
        float live = checker.Score(image, box, p);
        Assert.Equal(1f, p[0] + p[1] + p[2], 4);
        Assert.Equal(p[LivenessSpec.Default.LiveClass], live);
        Assert.Equal(live, checker.Score(image, box));
    }

    [Fact]
    public void Photos_of_people_mostly_fall_in_the_class_the_package_reports_as_live()
    {
        // pairs-dev holds photographs of real people, re-photographed by nobody: the nearest thing to "live" here.
        // Not a measurement of spoof detection (no attack samples exist here): the gate stays off by default.
        using var checker = new LivenessChecker(LivenessSpec.Default, new InferenceOptions { Threads = 1 });
        var counts = new int[3];
        Span<float> p = stackalloc float[3];
        foreach (var name in Directory.GetFiles(TestPaths.PairsDev, "img*.jpg").Select(Path.GetFileName).Order().Take(30))
        {
            var image = PipelineFixture.Load(name!);
            var faces = fx.Single.Analyze(image, largestOnly: true);
            if (faces.Count == 0) continue;
            checker.Score(image, faces[0].Detection.Box, p);
            int best = p[0] >= p[1] && p[0] >= p[2] ? 0 : p[1] >= p[2] ? 1 : 2;
            counts[best]++;
        }
        Console.WriteLine($"fr_liveness arg-max classes over 30 pairs-dev photos: {string.Join(", ", counts)}");
        Assert.True(counts.Sum() >= 25);
        Assert.True(counts[LivenessSpec.Default.LiveClass] * 2 > counts.Sum(), $"class distribution {string.Join(", ", counts)}");
    }
}
