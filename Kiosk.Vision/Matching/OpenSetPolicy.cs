using System.Globalization;

namespace Kiosk.Vision.Matching;

/// <summary>
/// Open-set decision over the top matches: accept the best person when its score >= <see cref="Threshold"/> and it
/// beats the best <em>other</em> person by at least <see cref="Margin"/> (both on the cosine-similarity scale).
/// </summary>
/// <remarks>
/// When the matches hold no other person (a one-person gallery, or k = 1) there is nobody to be confused with:
/// <see cref="OpenSetDecision.SecondScore"/> is -1, the lowest cosine similarity, and the margin test is not applied.
/// </remarks>
public sealed record OpenSetPolicy(float Threshold, float Margin)
{
    // Explicit members so that both the constructor and `with` validate.
    private readonly float _threshold = CheckThreshold(Threshold);
    private readonly float _margin = CheckMargin(Margin);

    public float Threshold { get => _threshold; init => _threshold = CheckThreshold(value); }
    public float Margin { get => _margin; init => _margin = CheckMargin(value); }

    private static float CheckThreshold(float value) => value is >= -1f and <= 1f
        ? value
        : throw new ArgumentOutOfRangeException(nameof(Threshold), value, "Threshold is a cosine similarity in [-1, 1]");

    private static float CheckMargin(float value) => value is >= 0f and <= 2f
        ? value
        : throw new ArgumentOutOfRangeException(nameof(Margin), value, "Margin is a difference of cosine similarities in [0, 2]");

    /// <summary>Score given for a missing match (no other person, or an empty gallery): the lowest cosine similarity.</summary>
    public const float NoScore = -1f;

    /// <summary>
    /// Decides on <paramref name="top"/>, the matches of one query as <see cref="FaceIndex.Search"/> writes them.
    /// Order does not matter: the best entry and the best entry of another person are looked up.
    /// </summary>
    public OpenSetDecision Decide(ReadOnlySpan<Match> top)
    {
        if (top.IsEmpty) return new OpenSetDecision(false, 0, NoScore, NoScore, "empty gallery");
        int best = 0;
        for (int i = 1; i < top.Length; i++)
            if (top[i].Score > top[best].Score) best = i;
        var winner = top[best];
        float second = NoScore;
        bool haveSecond = false;
        foreach (var m in top)
            if (m.PersonId != winner.PersonId && (!haveSecond || m.Score > second))
            {
                second = m.Score;
                haveSecond = true;
            }

        // NaN scores fail every comparison below, so they are rejected rather than accepted.
        if (!(winner.Score >= Threshold))
            return new OpenSetDecision(false, winner.PersonId, winner.Score, second,
                string.Create(CultureInfo.InvariantCulture, $"below threshold: {winner.Score:F3} < {Threshold:F3}"));
        if (haveSecond && !(winner.Score - second >= Margin))
            return new OpenSetDecision(false, winner.PersonId, winner.Score, second,
                string.Create(CultureInfo.InvariantCulture, $"ambiguous: margin {winner.Score - second:F3} < {Margin:F3}"));
        return new OpenSetDecision(true, winner.PersonId, winner.Score, second, "accepted");
    }
}

/// <summary>
/// The outcome of <see cref="OpenSetPolicy.Decide"/>: whether the best person is accepted, who it is (0 for an empty
/// gallery), its score, the best other person's score (-1 when there is none) and why.
/// </summary>
public readonly record struct OpenSetDecision(bool Accepted, long PersonId, float Score, float SecondScore, string Reason);
