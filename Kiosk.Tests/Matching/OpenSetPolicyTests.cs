using Kiosk.Vision.Matching;

namespace Kiosk.Tests.Matching;

public sealed class OpenSetPolicyTests
{
    private static readonly OpenSetPolicy Policy = new(Threshold: 0.40f, Margin: 0.05f);

    [Fact]
    public void A_clear_best_person_above_the_threshold_is_accepted()
    {
        var d = Policy.Decide([new(7, 70, 0.62f), new(3, 30, 0.31f), new(4, 40, 0.12f)]);
        Assert.Equal(new OpenSetDecision(true, 7, 0.62f, 0.31f, "accepted"), d);
    }

    [Fact]
    public void A_best_person_below_the_threshold_is_rejected_but_named()
    {
        var d = Policy.Decide([new(7, 70, 0.39f), new(3, 30, 0.10f)]);
        Assert.False(d.Accepted);
        Assert.Equal((7L, 0.39f, 0.10f), (d.PersonId, d.Score, d.SecondScore));
        Assert.Equal("below threshold: 0.390 < 0.400", d.Reason);
    }

    [Fact]
    public void The_threshold_itself_is_enough()
    {
        Assert.True(Policy.Decide([new(7, 70, 0.40f), new(3, 30, 0.10f)]).Accepted);
    }

    [Fact]
    public void Two_persons_closer_than_the_margin_are_ambiguous()
    {
        var d = Policy.Decide([new(7, 70, 0.70f), new(3, 30, 0.68f)]);
        Assert.False(d.Accepted);
        Assert.Equal((7L, 0.70f, 0.68f), (d.PersonId, d.Score, d.SecondScore));
        Assert.Equal("ambiguous: margin 0.020 < 0.050", d.Reason);
        // A margin just over the line passes.
        Assert.True(Policy.Decide([new(7, 70, 0.70f), new(3, 30, 0.6499f)]).Accepted);
    }

    [Fact]
    public void A_one_person_gallery_has_second_score_minus_one_and_is_accepted_without_a_margin_test()
    {
        var d = new OpenSetPolicy(0.40f, Margin: 2f).Decide([new(7, 70, 0.45f)]);
        Assert.Equal(new OpenSetDecision(true, 7, 0.45f, -1f, "accepted"), d);
        Assert.False(Policy.Decide([new(7, 70, 0.35f)]).Accepted);
    }

    [Fact]
    public void An_empty_gallery_is_rejected_with_its_reason()
    {
        Assert.Equal(new OpenSetDecision(false, 0, -1f, -1f, "empty gallery"), Policy.Decide([]));
    }

    [Fact]
    public void Order_and_repeated_entries_of_the_best_person_do_not_matter()
    {
        // Unsorted, and the winner twice (from a caller that did not keep persons distinct): the second is the other person.
        var d = Policy.Decide([new(3, 30, 0.50f), new(7, 71, 0.66f), new(7, 70, 0.69f)]);
        Assert.Equal(new OpenSetDecision(true, 7, 0.69f, 0.50f, "accepted"), d);
    }

    [Fact]
    public void A_NaN_score_is_never_accepted()
    {
        Assert.False(Policy.Decide([new(7, 70, float.NaN)]).Accepted);
    }

    [Fact]
    public void Out_of_range_settings_are_refused_by_the_constructor_and_by_with()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenSetPolicy(1.5f, 0.05f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenSetPolicy(float.NaN, 0.05f));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OpenSetPolicy(0.4f, -0.01f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Policy with { Margin = 3f });
        Assert.Equal(new OpenSetPolicy(0.5f, 0.05f), Policy with { Threshold = 0.5f });
    }

    [Fact]
    public void Search_results_feed_the_policy()
    {
        var rng = new Random(20);
        var alice = Gallery.RandomUnit(rng, 64);
        var index = new FaceIndex(64);
        index.Add(1, 10, alice);
        index.Add(2, 20, Gallery.RandomUnit(rng, 64));
        var top = new Match[5];
        int n = index.Search(Gallery.Near(rng, alice, 0.05f), top);
        var d = Policy.Decide(top.AsSpan(0, n));
        Assert.True(d.Accepted, d.Reason);
        Assert.Equal(1, d.PersonId);
        // A stranger is not.
        n = index.Search(Gallery.RandomUnit(rng, 64), top);
        Assert.False(Policy.Decide(top.AsSpan(0, n)).Accepted);
    }
}
