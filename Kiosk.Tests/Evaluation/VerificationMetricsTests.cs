using System.Globalization;
using Kiosk.Vision.Evaluation;

namespace Kiosk.Tests.Evaluation;

public sealed class VerificationMetricsTests
{
    private const bool T = true;
    private const bool F = false;

    [Fact]
    public void Perfect_separation_gives_accuracy_1_at_the_midpoint_and_auc_1()
    {
        float[] scores = [0.1f, 0.2f, 0.8f, 0.9f];
        bool[] same = [F, F, T, T];

        var (threshold, accuracy) = VerificationMetrics.BestThreshold(scores, same);

        Assert.Equal(1.0, accuracy);
        Assert.Equal(0.5f, threshold, 1e-6f);
        Assert.Equal(1.0, VerificationMetrics.RocAuc(scores, same));
    }

    [Fact]
    public void Reversed_scores_give_auc_0()
    {
        Assert.Equal(0.0, VerificationMetrics.RocAuc([0.1f, 0.2f, 0.8f, 0.9f], [T, T, F, F]));
    }

    [Fact]
    public void Best_threshold_of_a_shuffled_small_case_matches_the_hand_computation()
    {
        // Sorted: .1F .2T .3F .4F .6T .7T .8F .9T. Correct counts per candidate: -inf 4, .15 5, .25 4, .35 5,
        // .5 6, .65 5, .75 4, .85 5, +inf 4. Unique best: 6 of 8 at 0.5.
        float[] scores = [0.7f, 0.1f, 0.9f, 0.4f, 0.2f, 0.8f, 0.3f, 0.6f];
        bool[] same = [T, F, T, F, T, F, F, T];

        var (threshold, accuracy) = VerificationMetrics.BestThreshold(scores, same);

        Assert.Equal(0.75, accuracy);
        Assert.Equal(0.5f, threshold, 1e-6f);
        Assert.Equal(new ConfusionCounts(TruePositives: 3, FalsePositives: 1, TrueNegatives: 3, FalseNegatives: 1),
            VerificationMetrics.ConfusionAt(scores, same, threshold));
    }

    [Fact]
    public void Equal_accuracies_are_broken_by_the_widest_margin()
    {
        // Sorted: .1F .4T .5F .6T .9T. Threshold .25 (gap .3) and .55 (gap .1) both give 4 of 5.
        var (threshold, accuracy) = VerificationMetrics.BestThreshold([0.1f, 0.4f, 0.5f, 0.6f, 0.9f], [F, T, F, T, T]);

        Assert.Equal(0.8, accuracy);
        Assert.Equal(0.25f, threshold, 1e-6f);
    }

    [Fact]
    public void A_midpoint_beats_an_equally_accurate_accept_everything_threshold()
    {
        // -inf gives 3 of 4 (all accepted), .55 gives 3 of 4 too and is a real decision boundary.
        var (threshold, accuracy) = VerificationMetrics.BestThreshold([0.1f, 0.5f, 0.6f, 0.9f], [T, F, T, T]);

        Assert.Equal(0.75, accuracy);
        Assert.Equal(0.55f, threshold, 1e-6f);
    }

    [Fact]
    public void When_only_the_two_degenerate_thresholds_tie_the_one_accepting_nobody_wins()
    {
        var (threshold, accuracy) = VerificationMetrics.BestThreshold([0.1f, 0.9f], [T, F]);

        Assert.Equal(0.5, accuracy);
        Assert.Equal(float.PositiveInfinity, threshold);
    }

    [Fact]
    public void The_threshold_separates_adjacent_floats()
    {
        float low = 0.5f;
        float high = MathF.BitIncrement(low);

        var (threshold, accuracy) = VerificationMetrics.BestThreshold([low, high], [F, T]);

        Assert.Equal(1.0, accuracy);
        Assert.Equal(high, threshold);
    }

    [Theory]
    [InlineData(new[] { 0.1f, 0.4f, 0.35f, 0.8f }, new[] { F, F, T, T }, 0.75)]
    [InlineData(new[] { 0.3f, 0.5f, 0.5f, 0.7f }, new[] { F, T, F, T }, 0.875)]
    [InlineData(new[] { 0.5f, 0.5f, 0.5f, 0.5f }, new[] { T, F, T, F }, 0.5)]
    [InlineData(new[] { 0.2f, 0.2f, 0.9f }, new[] { T, F, F }, 0.25)]
    public void Auc_counts_ties_as_one_half(float[] scores, bool[] same, double expected)
    {
        Assert.Equal(expected, VerificationMetrics.RocAuc(scores, same), 12);
    }

    [Fact]
    public void Tar_at_far_takes_the_lowest_threshold_whose_false_accepts_fit()
    {
        // 10 different pairs, far 0.1 allows one false accept: .99T .97T .95F(1st) .92T, then .90F would be the 2nd.
        float[] scores = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 0.95f, 0.85f, 0.92f, 0.97f, 0.99f];
        bool[] same = [F, F, F, F, F, F, F, F, F, F, T, T, T, T];

        var result = VerificationMetrics.TarAtFar(scores, same, far: 0.1);

        Assert.NotNull(result);
        var (tar, threshold) = result.Value;
        Assert.Equal(0.75, tar);
        Assert.Equal(0.91f, threshold, 1e-6f);
        var counts = VerificationMetrics.ConfusionAt(scores, same, threshold);
        Assert.Equal(1, counts.FalsePositives);
        Assert.Equal(0.75, counts.TrueAcceptRate);
    }

    [Fact]
    public void Tar_at_far_is_null_when_there_are_fewer_negatives_than_1_over_far()
    {
        float[] scores = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.9f];
        bool[] same = [F, F, F, F, F, T];

        Assert.Null(VerificationMetrics.TarAtFar(scores, same, far: 0.1));
        Assert.Null(VerificationMetrics.TarAtFar(scores, same, far: 0.19));
        // 1/5 = 0.2 resolves: one false accept allowed, .9T then .5F, stop before .4F.
        var (tar, threshold) = VerificationMetrics.TarAtFar(scores, same, far: 0.2)!.Value;
        Assert.Equal(1.0, tar);
        Assert.Equal(0.45f, threshold, 1e-6f);
    }

    [Fact]
    public void Tar_at_far_moves_whole_groups_of_tied_scores()
    {
        // Two different pairs tie at the top score, so one allowed false accept admits nothing.
        float[] scores = [0.1f, 0.2f, 0.5f, 0.9f, 0.9f];
        bool[] same = [F, T, T, F, F];

        Assert.Equal((0.0, float.PositiveInfinity), VerificationMetrics.TarAtFar(scores, same, far: 1.0 / 3));

        var (tar, threshold) = VerificationMetrics.TarAtFar(scores, same, far: 2.0 / 3)!.Value;
        Assert.Equal(1.0, tar);
        Assert.Equal(0.15f, threshold, 1e-6f);

        Assert.Equal((1.0, float.NegativeInfinity), VerificationMetrics.TarAtFar(scores, same, far: 1.0));
    }

    [Fact]
    public void Confusion_counts_declare_same_at_or_above_the_threshold()
    {
        var counts = VerificationMetrics.ConfusionAt([0.2f, 0.5f, 0.5f, 0.9f, 0.1f], [F, T, F, T, T], 0.5f);

        Assert.Equal(new ConfusionCounts(TruePositives: 2, FalsePositives: 1, TrueNegatives: 1, FalseNegatives: 1), counts);
        Assert.Equal(5, counts.Total);
        Assert.Equal(0.6, counts.Accuracy, 12);
        Assert.Equal(0.5, counts.FalseAcceptRate);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(7)]
    public void Cross_validation_on_a_perfectly_separable_set_gives_1_with_no_spread(int? seed)
    {
        var scores = new float[40];
        var same = new bool[40];
        for (int i = 0; i < 40; i++)
        {
            same[i] = i % 3 == 0;
            scores[i] = same[i] ? 0.6f + (i * 0.01f) : 0.4f - (i * 0.005f);
        }

        var (mean, std) = VerificationMetrics.CrossValidatedAccuracy(scores, same, folds: 10, seed: seed);

        Assert.Equal(1.0, mean);
        Assert.Equal(0.0, std);
    }

    [Fact]
    public void Cross_validation_by_hand_on_two_interleaved_folds()
    {
        // Fold 0 = indices 0,2,4: (.1F .35T .5F); fold 1 = indices 1,3,5: (.2F .4T .6T).
        // Train on fold 1 -> .3 (3/3); test fold 0: .1F right, .35T right, .5F wrong -> 2/3.
        // Train on fold 0 -> .225 (2/3, gap .25) beats .425 (1/3) and ties +inf (2/3, no margin);
        // test fold 1: .2F right, .4T right, .6T right -> 3/3. Mean 5/6, population std 1/6.
        float[] scores = [0.1f, 0.2f, 0.35f, 0.4f, 0.5f, 0.6f];
        bool[] same = [F, F, T, T, F, T];

        var (mean, std) = VerificationMetrics.CrossValidatedAccuracy(scores, same, folds: 2);

        Assert.Equal((2.0 / 3 + 1.0) / 2, mean, 12);
        Assert.Equal(1.0 / 6, std, 12);
    }

    [Fact]
    public void A_seeded_shuffle_is_deterministic()
    {
        var random = new Random(3);
        var scores = Enumerable.Range(0, 200).Select(_ => (float)random.NextDouble()).ToArray();
        var same = Enumerable.Range(0, 200).Select(i => scores[i] + (0.3 * random.NextDouble()) > 0.6).ToArray();

        Assert.Equal(
            VerificationMetrics.CrossValidatedAccuracy(scores, same, seed: 11),
            VerificationMetrics.CrossValidatedAccuracy(scores, same, seed: 11));
    }

    [Fact]
    public void Length_mismatch_is_rejected_by_every_method()
    {
        float[] scores = [0.1f, 0.9f, 0.5f];
        bool[] same = [F, T];

        AssertAllReject(scores, same, "same length");
    }

    [Fact]
    public void A_missing_class_is_rejected_by_every_method()
    {
        AssertAllReject([0.1f, 0.9f], [T, T], "one class is absent");
        AssertAllReject([0.1f, 0.9f], [F, F], "one class is absent");
        AssertAllReject([], [], "one class is absent");
    }

    [Fact]
    public void Non_finite_scores_are_rejected()
    {
        AssertAllReject([0.1f, float.NaN], [T, F], "finite");
        AssertAllReject([0.1f, float.PositiveInfinity], [T, F], "finite");
    }

    [Fact]
    public void Out_of_range_folds_and_far_are_rejected()
    {
        float[] scores = [0.1f, 0.9f, 0.5f];
        bool[] same = [F, T, T];

        Assert.Throws<ArgumentOutOfRangeException>(() => VerificationMetrics.CrossValidatedAccuracy(scores, same, folds: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => VerificationMetrics.CrossValidatedAccuracy(scores, same, folds: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => VerificationMetrics.TarAtFar(scores, same, far: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => VerificationMetrics.TarAtFar(scores, same, far: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => VerificationMetrics.TarAtFar(scores, same, far: double.NaN));
        Assert.Throws<ArgumentException>(() => VerificationMetrics.ConfusionAt(scores, same, float.NaN));
    }

    // deepface's README figures for its own cosine distances on these 280 pairs: Facenet 1.000, VGG-Face 0.975,
    // OpenFace 0.743, DeepFace 0.700. Exact AUCs from an independent O(n^2) count over the same columns.
    [Theory]
    [InlineData("Facenet_cosine", 280, 1.0)]
    [InlineData("VGG-Face_cosine", 273, 9707.0 / 9800)]
    [InlineData("OpenFace_cosine", 208, 8027.0 / 9800)]
    [InlineData("DeepFace_cosine", 196, 26.0 / 35)]
    public void Pivot_distances_reproduce_deepface_accuracies(string column, int correct, double auc)
    {
        string path = Path.Combine(TestPaths.PairsDev, "face-recognition-pivot.csv");
        var pairs = PairListReader.Read(path);
        string[] lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        int index = Array.IndexOf(lines[0].Split(','), column);
        Assert.True(index >= 0, $"no column {column}");

        // Distance to similarity: negate, which keeps every tie and order exactly.
        float[] scores = lines.Skip(1).Select(l => -float.Parse(l.Split(',')[index], CultureInfo.InvariantCulture)).ToArray();
        bool[] same = pairs.Select(p => p.Same).ToArray();
        Assert.Equal(same.Length, scores.Length);

        var (threshold, accuracy) = VerificationMetrics.BestThreshold(scores, same);

        Assert.Equal(correct / 280.0, accuracy, 12);
        Assert.Equal(accuracy, VerificationMetrics.ConfusionAt(scores, same, threshold).Accuracy, 12);
        Assert.Equal(auc, VerificationMetrics.RocAuc(scores, same), 12);
    }

    private static void AssertAllReject(float[] scores, bool[] same, string messagePart)
    {
        var errors = new Exception[]
        {
            Assert.ThrowsAny<ArgumentException>(() => VerificationMetrics.BestThreshold(scores, same)),
            Assert.ThrowsAny<ArgumentException>(() => VerificationMetrics.CrossValidatedAccuracy(scores, same, folds: 2)),
            Assert.ThrowsAny<ArgumentException>(() => VerificationMetrics.RocAuc(scores, same)),
            Assert.ThrowsAny<ArgumentException>(() => VerificationMetrics.TarAtFar(scores, same, 0.5)),
            Assert.ThrowsAny<ArgumentException>(() => VerificationMetrics.ConfusionAt(scores, same, 0.5f)),
        };

        Assert.All(errors, e => Assert.Contains(messagePart, e.Message, StringComparison.Ordinal));
    }
}
