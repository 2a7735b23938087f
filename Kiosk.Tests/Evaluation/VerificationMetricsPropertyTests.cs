using Kiosk.Vision.Evaluation;

namespace Kiosk.Tests.Evaluation;

/// <summary>The fast metrics against plain O(n^2) definitions on seeded random cases, ties included.</summary>
public sealed class VerificationMetricsPropertyTests
{
    private const int Cases = 500;

    public static TheoryData<int> Seeds => new() { 1, 2, 3 };

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Auc_matches_the_pairwise_count(int seed)
    {
        foreach (var (scores, same) in RandomCases(seed))
        {
            Assert.Equal(ReferenceAuc(scores, same), VerificationMetrics.RocAuc(scores, same), 12);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Best_threshold_accuracy_matches_trying_every_score_as_threshold(int seed)
    {
        foreach (var (scores, same) in RandomCases(seed))
        {
            var (threshold, accuracy) = VerificationMetrics.BestThreshold(scores, same);

            Assert.Equal(ReferenceBestCorrect(scores, same) / (double)scores.Length, accuracy, 12);
            Assert.Equal(accuracy, VerificationMetrics.ConfusionAt(scores, same, threshold).Accuracy, 12);
            Assert.DoesNotContain(threshold, scores);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Tar_at_far_matches_trying_every_score_as_threshold(int seed)
    {
        double[] fars = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0];
        foreach (var (scores, same) in RandomCases(seed))
        {
            int negatives = same.Count(s => !s);
            foreach (double far in fars)
            {
                var result = VerificationMetrics.TarAtFar(scores, same, far);
                if (1.0 / negatives > far)
                {
                    Assert.Null(result);
                    continue;
                }

                Assert.NotNull(result);
                var (tar, threshold) = result.Value;
                var counts = VerificationMetrics.ConfusionAt(scores, same, threshold);
                Assert.Equal(ReferenceTarAtFar(scores, same, far), tar, 12);
                Assert.Equal(tar, counts.TrueAcceptRate, 12);
                Assert.True(counts.FalseAcceptRate <= far, $"FAR {counts.FalseAcceptRate} > {far}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Cross_validation_matches_refitting_best_threshold_per_fold(int seed)
    {
        int compared = 0;
        foreach (var (scores, same) in RandomCases(seed))
        {
            int folds = Math.Min(scores.Length, 2 + (scores.Length % 9));
            foreach (int? shuffleSeed in new int?[] { null, seed })
            {
                int[] foldOf = ReferenceFolds(scores.Length, folds, shuffleSeed);
                var reference = ReferenceCrossValidation(scores, same, folds, foldOf);
                if (reference is null)
                {
                    continue; // a training part lacks a class: the public BestThreshold cannot be the reference
                }

                var (mean, std) = VerificationMetrics.CrossValidatedAccuracy(scores, same, folds, shuffleSeed);
                Assert.Equal(reference.Value.Mean, mean, 12);
                Assert.Equal(reference.Value.Std, std, 12);
                compared++;
            }
        }

        Assert.True(compared > Cases, $"only {compared} cross-validations compared");
    }

    private static IEnumerable<(float[] Scores, bool[] Same)> RandomCases(int seed)
    {
        var random = new Random(seed);
        for (int c = 0; c < Cases; c++)
        {
            int n = random.Next(2, 120);
            double positiveRate = 0.1 + (0.8 * random.NextDouble());
            int style = random.Next(3);
            var scores = new float[n];
            var same = new bool[n];
            for (int i = 0; i < n; i++)
            {
                same[i] = random.NextDouble() < positiveRate;
                double shift = same[i] ? 0.3 * random.NextDouble() : 0;
                scores[i] = style switch
                {
                    0 => random.Next(0, 8) / 8f,                                        // heavy ties
                    1 => (float)Math.Round((2 * random.NextDouble()) - 1 + shift, 2),  // some ties, overlap
                    _ => (float)((2 * random.NextDouble()) - 1 + shift),               // continuous
                };
            }

            // Both classes present.
            same[0] = true;
            same[^1] = false;
            yield return (scores, same);
        }
    }

    private static double ReferenceAuc(float[] scores, bool[] same)
    {
        double wins = 0;
        int pairs = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            for (int j = 0; j < scores.Length; j++)
            {
                if (same[i] && !same[j])
                {
                    pairs++;
                    wins += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                }
            }
        }

        return wins / pairs;
    }

    /// <summary>Every achievable decision set is "score >= t" for t a score or +inf.</summary>
    private static IEnumerable<float> AllThresholds(float[] scores) => scores.Append(float.PositiveInfinity);

    private static int Correct(float[] scores, bool[] same, float t) =>
        scores.Where((s, i) => (s >= t) == same[i]).Count();

    private static int ReferenceBestCorrect(float[] scores, bool[] same) =>
        AllThresholds(scores).Max(t => Correct(scores, same, t));

    private static double ReferenceTarAtFar(float[] scores, bool[] same, double far)
    {
        int positives = same.Count(s => s);
        int negatives = same.Length - positives;
        return AllThresholds(scores)
            .Where(t => (double)scores.Where((s, i) => !same[i] && s >= t).Count() / negatives <= far)
            .Max(t => (double)scores.Where((s, i) => same[i] && s >= t).Count() / positives);
    }

    private static int[] ReferenceFolds(int n, int folds, int? seed)
    {
        if (seed is null)
        {
            return Enumerable.Range(0, n).Select(i => i % folds).ToArray();
        }

        var order = Enumerable.Range(0, n).ToArray();
        var random = new Random(seed.Value);
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var foldOf = new int[n];
        for (int position = 0; position < n; position++)
        {
            foldOf[order[position]] = position % folds;
        }

        return foldOf;
    }

    private static (double Mean, double Std)? ReferenceCrossValidation(float[] scores, bool[] same, int folds, int[] foldOf)
    {
        var accuracies = new List<double>();
        for (int f = 0; f < folds; f++)
        {
            var train = Enumerable.Range(0, scores.Length).Where(i => foldOf[i] != f).ToArray();
            var test = Enumerable.Range(0, scores.Length).Where(i => foldOf[i] == f).ToArray();
            bool[] trainSame = train.Select(i => same[i]).ToArray();
            if (trainSame.All(s => s) || trainSame.All(s => !s))
            {
                return null;
            }

            var (threshold, _) = VerificationMetrics.BestThreshold(train.Select(i => scores[i]).ToArray(), trainSame);
            accuracies.Add(test.Count(i => (scores[i] >= threshold) == same[i]) / (double)test.Length);
        }

        double mean = accuracies.Average();
        return (mean, Math.Sqrt(accuracies.Sum(a => (a - mean) * (a - mean)) / folds));
    }
}
