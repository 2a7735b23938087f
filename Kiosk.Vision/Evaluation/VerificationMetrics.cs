namespace Kiosk.Vision.Evaluation;

/// <summary>
/// Accuracy figures for face verification over scored pairs.
/// </summary>
/// <remarks>
/// <para>Scores are similarities (higher = more alike, e.g. cosine similarity). A pair is declared "same" when
/// <c>score &gt;= threshold</c>. <c>same[i]</c> is the ground truth of pair <c>i</c>.</para>
/// <para>Every method throws <see cref="ArgumentException"/> when the spans differ in length, when a score is not
/// finite, or when the pairs lack either class (no "same" or no "different" pair).</para>
/// <para>Thresholds are placed at the midpoint between two adjacent distinct scores, so a small shift in a score
/// does not flip a decision. The two degenerate thresholds are <see cref="float.NegativeInfinity"/> (every pair
/// declared same) and <see cref="float.PositiveInfinity"/> (no pair declared same).</para>
/// <para>Sorting costs O(n log n); each method allocates O(n) scratch. None of this is per-frame code.</para>
/// </remarks>
public static class VerificationMetrics
{
    /// <summary>
    /// The threshold that maximises accuracy over these pairs, and that accuracy.
    /// </summary>
    /// <remarks>
    /// Candidates are below the lowest score (-∞), the midpoints between adjacent distinct scores, and above the
    /// highest score (+∞). Tie rule, in order: (1) highest accuracy; (2) the widest margin, i.e. the largest gap
    /// between the two scores the midpoint splits; the ±∞ candidates count as having no margin, so they win only
    /// when no midpoint reaches the same accuracy; (3) the higher threshold, which accepts fewer pairs (the
    /// conservative choice for a kiosk, where a false accept is the costly error).
    /// </remarks>
    public static (float threshold, double accuracy) BestThreshold(ReadOnlySpan<float> scores, ReadOnlySpan<bool> same)
    {
        Validate(scores, same, out _, out _);
        var sorted = SortedPairs.Create(scores, same, folds: ReadOnlySpan<int>.Empty);
        Candidate best = Sweep(sorted, excludedFold: -1);
        return (best.Threshold, (double)best.Correct / scores.Length);
    }

    /// <summary>
    /// k-fold cross-validated accuracy: for each fold, the <see cref="BestThreshold"/> of the other folds is applied
    /// to that fold. Returns the mean and the population standard deviation (divisor k, as numpy's default in the
    /// LFW protocol) of the k fold accuracies.
    /// </summary>
    /// <param name="folds">Number of folds, 2 ≤ folds ≤ number of pairs.</param>
    /// <param name="seed">
    /// Fold assignment. <see langword="null"/>: interleaved, pair <c>i</c> goes to fold <c>i % folds</c>.
    /// Otherwise the pairs are shuffled (Fisher–Yates with <c>new Random(seed)</c>) and the pair at shuffled
    /// position <c>j</c> goes to fold <c>j % folds</c>. Either way fold sizes differ by at most one and the result
    /// is deterministic. Folds are not stratified; a training part may lack a class, and then its best threshold
    /// is the degenerate one that declares every pair of the present class correctly.
    /// </param>
    public static (double mean, double std) CrossValidatedAccuracy(
        ReadOnlySpan<float> scores, ReadOnlySpan<bool> same, int folds = 10, int? seed = null)
    {
        Validate(scores, same, out _, out _);
        int n = scores.Length;
        if (folds < 2 || folds > n)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, $"folds must be between 2 and the number of pairs ({n}).");
        }

        int[] foldOf = AssignFolds(n, folds, seed);
        var sorted = SortedPairs.Create(scores, same, foldOf);

        Span<double> accuracies = folds <= 64 ? stackalloc double[folds] : new double[folds];
        for (int f = 0; f < folds; f++)
        {
            float threshold = Sweep(sorted, excludedFold: f).Threshold;
            int correct = 0;
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                if (foldOf[i] != f)
                {
                    continue;
                }

                count++;
                if ((scores[i] >= threshold) == same[i])
                {
                    correct++;
                }
            }

            accuracies[f] = (double)correct / count;
        }

        double mean = 0;
        for (int f = 0; f < folds; f++)
        {
            mean += accuracies[f];
        }

        mean /= folds;
        double variance = 0;
        for (int f = 0; f < folds; f++)
        {
            double d = accuracies[f] - mean;
            variance += d * d;
        }

        return (mean, Math.Sqrt(variance / folds));
    }

    /// <summary>
    /// Area under the ROC curve, exactly, as the Mann–Whitney U statistic: the fraction of (same, different) pairs
    /// of pairs in which the "same" pair scores higher; equal scores count one half.
    /// </summary>
    public static double RocAuc(ReadOnlySpan<float> scores, ReadOnlySpan<bool> same)
    {
        Validate(scores, same, out int positives, out int negatives);
        var sorted = SortedPairs.Create(scores, same, ReadOnlySpan<int>.Empty);
        ReadOnlySpan<float> s = sorted.Scores;
        ReadOnlySpan<bool> p = sorted.Same;

        // 2U in integers: each positive beats the negatives strictly below it (2 each) and ties with the
        // negatives of equal score (1 each).
        long twiceU = 0;
        long negativesBelow = 0;
        int i = 0;
        while (i < s.Length)
        {
            int groupPositives = 0;
            int groupNegatives = 0;
            float value = s[i];
            for (; i < s.Length && s[i] == value; i++)
            {
                if (p[i])
                {
                    groupPositives++;
                }
                else
                {
                    groupNegatives++;
                }
            }

            twiceU += groupPositives * (2 * negativesBelow + groupNegatives);
            negativesBelow += groupNegatives;
        }

        return twiceU / (2.0 * positives * negatives);
    }

    /// <summary>
    /// True accept rate at the lowest threshold whose false accept rate (different pairs declared same, over all
    /// different pairs) is at most <paramref name="far"/>, and that threshold (a midpoint between adjacent distinct
    /// scores, or ±∞).
    /// </summary>
    /// <returns>
    /// <see langword="null"/> when there are too few different pairs to resolve <paramref name="far"/>, that is when
    /// 1 / negatives &gt; <paramref name="far"/>.
    /// </returns>
    public static (double tar, float threshold)? TarAtFar(ReadOnlySpan<float> scores, ReadOnlySpan<bool> same, double far)
    {
        Validate(scores, same, out int positives, out int negatives);
        if (!(far > 0 && far <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(far), far, "far must be in (0, 1].");
        }

        if (1.0 / negatives > far)
        {
            return null;
        }

        // Largest false-accept count with count / negatives <= far, decided with the same division as above.
        int allowed = (int)Math.Floor(far * negatives);
        while (allowed < negatives && (double)(allowed + 1) / negatives <= far)
        {
            allowed++;
        }

        while (allowed > 0 && (double)allowed / negatives > far)
        {
            allowed--;
        }

        var sorted = SortedPairs.Create(scores, same, ReadOnlySpan<int>.Empty);
        ReadOnlySpan<float> s = sorted.Scores;
        ReadOnlySpan<bool> p = sorted.Same;

        // Lower the threshold one group of equal scores at a time, from the top, while the false accepts fit.
        int falseAccepts = 0;
        int trueAccepts = 0;
        int i = s.Length - 1;
        while (i >= 0)
        {
            float value = s[i];
            int groupPositives = 0;
            int groupNegatives = 0;
            int j = i;
            for (; j >= 0 && s[j] == value; j--)
            {
                if (p[j])
                {
                    groupPositives++;
                }
                else
                {
                    groupNegatives++;
                }
            }

            if (falseAccepts + groupNegatives > allowed)
            {
                break;
            }

            falseAccepts += groupNegatives;
            trueAccepts += groupPositives;
            i = j;
        }

        float threshold = i == s.Length - 1 ? float.PositiveInfinity
            : i < 0 ? float.NegativeInfinity
            : Midpoint(s[i], s[i + 1]);
        return ((double)trueAccepts / positives, threshold);
    }

    /// <summary>Counts of true/false positives and negatives when pairs with <c>score &gt;= threshold</c> are declared same.</summary>
    public static ConfusionCounts ConfusionAt(ReadOnlySpan<float> scores, ReadOnlySpan<bool> same, float threshold)
    {
        Validate(scores, same, out _, out _);
        if (float.IsNaN(threshold))
        {
            throw new ArgumentException("threshold is NaN.", nameof(threshold));
        }

        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            bool accepted = scores[i] >= threshold;
            if (same[i])
            {
                if (accepted)
                {
                    tp++;
                }
                else
                {
                    fn++;
                }
            }
            else if (accepted)
            {
                fp++;
            }
            else
            {
                tn++;
            }
        }

        return new ConfusionCounts(tp, fp, tn, fn);
    }

    private static void Validate(ReadOnlySpan<float> scores, ReadOnlySpan<bool> same, out int positives, out int negatives)
    {
        if (scores.Length != same.Length)
        {
            throw new ArgumentException(
                $"scores has {scores.Length} elements but same has {same.Length}; they must have the same length.", nameof(same));
        }

        positives = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (!float.IsFinite(scores[i]))
            {
                throw new ArgumentException($"scores[{i}] is {scores[i]}; scores must be finite.", nameof(scores));
            }

            if (same[i])
            {
                positives++;
            }
        }

        negatives = scores.Length - positives;
        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException(
                $"Both classes are needed: got {positives} same and {negatives} different pairs; one class is absent.", nameof(same));
        }
    }

    private static int[] AssignFolds(int n, int folds, int? seed)
    {
        var foldOf = new int[n];
        if (seed is null)
        {
            for (int i = 0; i < n; i++)
            {
                foldOf[i] = i % folds;
            }

            return foldOf;
        }

        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        var random = new Random(seed.Value);
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        for (int position = 0; position < n; position++)
        {
            foldOf[order[position]] = position % folds;
        }

        return foldOf;
    }

    /// <summary>
    /// Best-accuracy sweep over the sorted pairs, skipping those in <paramref name="excludedFold"/> (-1: none).
    /// Implements the tie rule documented on <see cref="BestThreshold"/>.
    /// </summary>
    private static Candidate Sweep(in SortedPairs sorted, int excludedFold)
    {
        ReadOnlySpan<float> s = sorted.Scores;
        ReadOnlySpan<bool> p = sorted.Same;
        ReadOnlySpan<int> fold = sorted.Folds;
        bool filter = excludedFold >= 0;

        int positives = 0;
        int negatives = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (filter && fold[i] == excludedFold)
            {
                continue;
            }

            if (p[i])
            {
                positives++;
            }
            else
            {
                negatives++;
            }
        }

        const double NoMargin = -1;

        // Below every score: all pairs declared same, the positives are right.
        float bestThreshold = float.NegativeInfinity;
        int bestCorrect = positives;
        double bestMargin = NoMargin;

        int positivesBelow = 0;
        int negativesBelow = 0;
        bool havePrevious = false;
        float previous = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (filter && fold[i] == excludedFold)
            {
                continue;
            }

            float value = s[i];
            if (havePrevious && value != previous)
            {
                // Threshold between previous and value: negatives below it and positives above it are right.
                int correct = negativesBelow + positives - positivesBelow;
                double margin = (double)value - previous;
                if (correct > bestCorrect || (correct == bestCorrect && margin >= bestMargin))
                {
                    bestCorrect = correct;
                    bestMargin = margin;
                    bestThreshold = Midpoint(previous, value);
                }
            }

            if (p[i])
            {
                positivesBelow++;
            }
            else
            {
                negativesBelow++;
            }

            previous = value;
            havePrevious = true;
        }

        // Above every score: nothing declared same, the negatives are right. On a full tie the higher threshold wins.
        if (negatives > bestCorrect || (negatives == bestCorrect && bestMargin == NoMargin))
        {
            bestCorrect = negatives;
            bestThreshold = float.PositiveInfinity;
        }

        return new Candidate(bestThreshold, bestCorrect);
    }

    /// <summary>A threshold t with lower &lt; t &lt;= upper, as close to their midpoint as float allows.</summary>
    private static float Midpoint(float lower, float upper)
    {
        float t = (float)(((double)lower + upper) * 0.5);
        return t > lower ? t : upper;
    }

    private readonly record struct Candidate(float Threshold, int Correct);

    /// <summary>Scores in ascending order with their labels and (optionally) fold numbers carried along.</summary>
    private readonly ref struct SortedPairs
    {
        private SortedPairs(float[] scores, bool[] same, int[] folds)
        {
            Scores = scores;
            Same = same;
            Folds = folds;
        }

        public ReadOnlySpan<float> Scores { get; }

        public ReadOnlySpan<bool> Same { get; }

        public ReadOnlySpan<int> Folds { get; }

        public static SortedPairs Create(ReadOnlySpan<float> scores, ReadOnlySpan<bool> same, ReadOnlySpan<int> folds)
        {
            int n = scores.Length;
            float[] keys = scores.ToArray();
            int[] order = new int[n];
            for (int i = 0; i < n; i++)
            {
                order[i] = i;
            }

            keys.AsSpan().Sort(order.AsSpan());

            bool[] sortedSame = new bool[n];
            int[] sortedFolds = folds.IsEmpty ? [] : new int[n];
            for (int i = 0; i < n; i++)
            {
                sortedSame[i] = same[order[i]];
                if (!folds.IsEmpty)
                {
                    sortedFolds[i] = folds[order[i]];
                }
            }

            return new SortedPairs(keys, sortedSame, sortedFolds);
        }
    }
}
