using Kiosk.Vision.Matching;

namespace Kiosk.Tests.Matching;

public sealed class TwoTierIdentifierTests
{
    private const int Dim = 8;

    private static float[] Unit(params float[] v)
    {
        var u = new float[Dim];
        v.CopyTo(u, 0);
        VectorMath.L2Normalize(u);
        return u;
    }

    /// <summary>A probe whose cosine with person 1's template is exactly <paramref name="s"/>.</summary>
    private static float[] ProbeAt(float s) => Unit(s, MathF.Sqrt(1 - s * s));

    private static (FaceIndex Fast, FaceIndex Accurate) Indexes()
    {
        var fast = new FaceIndex(Dim);
        fast.Add(1, 10, Unit(1));
        fast.Add(2, 20, Unit(0, 0, 1));
        var accurate = new FaceIndex(Dim);
        accurate.Add(1, 11, Unit(1));
        accurate.Add(2, 21, Unit(0, 0, 1));
        return (fast, accurate);
    }

    private static readonly TwoTierPolicy Policy = new(new OpenSetPolicy(0.5f, 0.05f), 0.4f, 0.6f, new OpenSetPolicy(0.5f, 0.05f));

    [Fact]
    public void A_clear_accept_is_decided_by_the_fast_tier_without_the_accurate_model()
    {
        var (fast, accurate) = Indexes();
        var id = new TwoTierIdentifier(fast, accurate, Policy);
        int calls = 0;
        var d = id.Identify(ProbeAt(0.9f), _ => calls++);
        Assert.True(d.Accepted);
        Assert.Equal(1, d.PersonId);
        Assert.Equal(DecisionTier.Fast, d.Tier);
        Assert.Equal(0, calls);
    }

    [Fact]
    public void A_clear_reject_is_decided_by_the_fast_tier()
    {
        var (fast, accurate) = Indexes();
        int calls = 0;
        var d = new TwoTierIdentifier(fast, accurate, Policy).Identify(ProbeAt(0.2f), _ => calls++);
        Assert.False(d.Accepted);
        Assert.Equal(DecisionTier.Fast, d.Tier);
        Assert.Equal(0, calls);
    }

    [Theory]
    [InlineData(0.45f, 0.95f, true)]   // fast doubtful (would reject), accurate sure: accepted by the accurate tier
    [InlineData(0.55f, 0.10f, false)]  // fast doubtful (would accept), accurate says no: rejected by the accurate tier
    public void A_grey_zone_score_is_decided_by_the_accurate_tier(float fastScore, float accurateScore, bool accepted)
    {
        var (fast, accurate) = Indexes();
        int calls = 0;
        var d = new TwoTierIdentifier(fast, accurate, Policy).Identify(ProbeAt(fastScore), dest => { calls++; ProbeAt(accurateScore).CopyTo(dest); });
        Assert.Equal(1, calls);
        Assert.Equal(DecisionTier.Accurate, d.Tier);
        Assert.Equal(accepted, d.Accepted);
        Assert.Equal(fastScore, d.FastScore, 3);
        Assert.Equal(accurateScore, d.Score, 3);
    }

    [Fact]
    public void Without_an_accurate_tier_the_fast_policy_decides_the_grey_zone()
    {
        var (fast, _) = Indexes();
        var d = new TwoTierIdentifier(fast, null, Policy).Identify(ProbeAt(0.55f), null);
        Assert.True(d.Accepted);
        Assert.Equal(DecisionTier.Fast, d.Tier);
        d = new TwoTierIdentifier(fast, null, Policy).Identify(ProbeAt(0.45f), null);
        Assert.False(d.Accepted);
    }

    [Fact]
    public void A_person_the_accurate_tier_has_no_template_for_is_left_to_the_fast_decision()
    {
        var (fast, accurate) = Indexes();
        accurate.RemovePerson(1);
        int calls = 0;
        var d = new TwoTierIdentifier(fast, accurate, Policy).Identify(ProbeAt(0.55f), _ => calls++);
        Assert.Equal(DecisionTier.Fast, d.Tier);
        Assert.True(d.Accepted);
        Assert.Contains("no accurate-tier template", d.Reason);
    }

    [Fact]
    public void A_high_score_with_too_small_a_lead_goes_to_the_accurate_tier()
    {
        var fast = new FaceIndex(Dim);
        fast.Add(1, 10, Unit(1));
        fast.Add(2, 20, Unit(0.99f, 0.141f));   // a near twin of person 1 in the fast model
        var accurate = new FaceIndex(Dim);
        accurate.Add(1, 11, Unit(1));
        accurate.Add(2, 21, Unit(0, 0, 1));     // the accurate model tells them apart
        var d = new TwoTierIdentifier(fast, accurate, Policy).Identify(Unit(1), dest => Unit(1).CopyTo(dest));
        Assert.Equal(DecisionTier.Accurate, d.Tier);
        Assert.True(d.Accepted);
        Assert.Equal(1, d.PersonId);
    }

    [Fact]
    public void An_empty_gallery_rejects()
    {
        var d = new TwoTierIdentifier(new FaceIndex(Dim), null, Policy).Identify(ProbeAt(0.9f), null);
        Assert.False(d.Accepted);
        Assert.Equal("empty gallery", d.Reason);
    }

    [Fact]
    public void A_grey_zone_that_does_not_hold_the_threshold_is_refused()
    {
        var bad = Policy with { GreyLow = 0.55f };
        Assert.Throws<ArgumentException>(() => new TwoTierIdentifier(new FaceIndex(Dim), null, bad));
    }
}
