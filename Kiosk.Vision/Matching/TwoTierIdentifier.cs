namespace Kiosk.Vision.Matching;

/// <summary>Which model made an identification decision.</summary>
public enum DecisionTier { Fast, Accurate }

/// <summary>
/// A 1:N decision: accepted as <see cref="PersonId"/> or rejected, the deciding model's best and second-best
/// person scores (cosine similarity, -1..1), the tier that decided, the fast tier's best score, and why.
/// </summary>
public readonly record struct Identification(bool Accepted, long PersonId, float Score, float SecondScore,
    DecisionTier Tier, float FastScore, string Reason);

/// <summary>Writes the probe's embedding by the accurate model into the span (called only in the grey zone).</summary>
public delegate void AccurateEmbedding(Span<float> destination);

/// <summary>
/// Thresholds of the two tiers. The fast model decides alone outside its grey zone [GreyLow, GreyHigh): a clear
/// accept (best ≥ GreyHigh and a clear margin) or a clear reject (best &lt; GreyLow). Inside it, or when the margin
/// is ambiguous, the accurate model decides with its own policy. All values on each model's cosine-similarity scale.
/// </summary>
public sealed record TwoTierPolicy(OpenSetPolicy Fast, float GreyLow, float GreyHigh, OpenSetPolicy Accurate)
{
    public void Validate()
    {
        if (!(GreyLow <= Fast.Threshold && Fast.Threshold <= GreyHigh))
            throw new ArgumentException($"grey zone [{GreyLow}, {GreyHigh}) must contain the fast threshold {Fast.Threshold}");
        if (GreyLow < -1 || GreyHigh > 1) throw new ArgumentException("grey zone limits are cosine similarities, -1..1");
    }
}

/// <summary>
/// Identification with a fast model and, for doubtful cases, an accurate one. Each tier searches its own index
/// (templates of one model are never compared with another model's). With no accurate tier, the fast model's policy
/// decides everything. Not thread-safe (one per recognition thread); the indexes may be shared.
/// </summary>
public sealed class TwoTierIdentifier
{
    private const int TopK = 5;
    private readonly FaceIndex _fast;
    private readonly FaceIndex? _accurate;
    private readonly float[]? _accurateProbe;

    public TwoTierPolicy Policy { get; }
    public bool HasAccurateTier => _accurate is not null;

    public TwoTierIdentifier(FaceIndex fast, FaceIndex? accurate, TwoTierPolicy policy)
    {
        policy.Validate();
        _fast = fast;
        _accurate = accurate;
        Policy = policy;
        if (accurate is not null) _accurateProbe = new float[accurate.Dimension];
    }

    public Identification Identify(ReadOnlySpan<float> fastProbe, AccurateEmbedding? accurateEmbedding)
    {
        Span<Match> top = stackalloc Match[TopK];
        int n = _fast.Search(fastProbe, top);
        if (n == 0) return new(false, 0, float.NaN, float.NaN, DecisionTier.Fast, float.NaN, "empty gallery");
        var fast = Policy.Fast.Decide(top[..n]);
        float best = top[0].Score;
        bool clear = best < Policy.GreyLow || (best >= Policy.GreyHigh && fast.Accepted);
        if (clear || _accurate is null || accurateEmbedding is null)
            return new(fast.Accepted, fast.PersonId, fast.Score, fast.SecondScore, DecisionTier.Fast, best, fast.Reason);
        // The accurate tier can only judge people it has templates for (a model added later, photos not yet
        // re-embedded): otherwise the fast tier's own decision stands.
        if (!_accurate.HasPerson(top[0].PersonId))
            return new(fast.Accepted, fast.PersonId, fast.Score, fast.SecondScore, DecisionTier.Fast, best,
                fast.Reason + " (no accurate-tier template for this person)");

        accurateEmbedding(_accurateProbe);
        int m = _accurate.Search(_accurateProbe, top);
        var acc = Policy.Accurate.Decide(top[..m]);
        return new(acc.Accepted, acc.PersonId, acc.Score, acc.SecondScore, DecisionTier.Accurate, best, acc.Reason);
    }
}
