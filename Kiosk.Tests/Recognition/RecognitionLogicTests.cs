using Kiosk.Host;
using Kiosk.Host.Gallery;
using Kiosk.Host.Recognition;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Matching;
using Kiosk.Vision.Tracking;

namespace Kiosk.Tests.Recognition;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime : TimeProvider
{
    private long _ticks = 1_000_000;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => _ticks;
    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero).AddTicks(_ticks);
    public void Advance(TimeSpan by) => _ticks += by.Ticks;
}

public sealed class IouTrackerTests
{
    private static FaceDetection D(float x, float y, float size = 100) => new(new BoxF(x, y, x + size, y + size), 0.99f);

    [Fact]
    public void A_face_moving_a_little_keeps_its_id_and_a_new_face_gets_a_new_one()
    {
        var tracker = new IouTracker();
        var ids = new Track?[2];
        tracker.Update([D(100, 100)], 1, ids);
        long first = ids[0]!.Id;
        tracker.Update([D(110, 105), D(400, 100)], 2, ids);
        Assert.Equal(first, ids[0]!.Id);
        Assert.NotEqual(first, ids[1]!.Id);
        Assert.Equal(2, tracker.Live.Count);
    }

    [Fact]
    public void A_track_ends_after_too_many_missed_frames()
    {
        var tracker = new IouTracker(maxMissed: 2);
        tracker.Update([D(100, 100)], 1);
        Assert.Empty(tracker.Update([], 2));
        Assert.Empty(tracker.Update([], 3));
        var ended = tracker.Update([], 4);
        Assert.Single(ended);
        Assert.Empty(tracker.Live);
    }

    [Fact]
    public void A_face_in_the_same_place_after_a_long_gap_is_a_new_track_however_few_frames_came_between()
    {
        // Frames every 400 ticks (a busy processor): two empty frames are within MaxMissed but span 1200 ticks.
        var tracker = new IouTracker(maxMissed: 8, maxGapTicks: 1000);
        var ids = new Track?[1];
        tracker.Update([D(100, 100)], 0, ids);
        long first = ids[0]!.Id;
        Assert.Empty(tracker.Update([], 400));
        Assert.Empty(tracker.Update([], 800));
        var ended = tracker.Update([D(102, 100)], 1200, ids);
        Assert.Equal(first, Assert.Single(ended).Id);
        Assert.NotEqual(first, ids[0]!.Id);

        // Within the gap the same place continues the track.
        long second = ids[0]!.Id;
        tracker.Update([], 1600);
        tracker.Update([D(104, 100)], 2100, ids);
        Assert.Equal(second, ids[0]!.Id);
    }

    [Fact]
    public void Each_detection_takes_at_most_one_track_and_the_best_overlap_wins()
    {
        var tracker = new IouTracker();
        var ids = new Track?[2];
        tracker.Update([D(100, 100), D(180, 100)], 1, ids);
        long a = ids[0]!.Id, b = ids[1]!.Id;
        tracker.Update([D(185, 100), D(95, 100)], 2, ids);
        Assert.Equal(b, ids[0]!.Id);
        Assert.Equal(a, ids[1]!.Id);
    }
}

public sealed class TrackVoterTests
{
    private static readonly VotingOptions Options = new() { Votes = 3, Attempts = 5, Window = TimeSpan.FromSeconds(4), MinAttemptsToDeny = 3 };
    private static Identification Yes(long person, float score = 0.8f) => new(true, person, score, -1, DecisionTier.Fast, score, "accepted");
    private static Identification No(float score = 0.2f) => new(false, 0, score, -1, DecisionTier.Fast, score, "below threshold");

    [Fact]
    public void One_matching_frame_never_grants()
    {
        var time = new ManualTime();
        var voter = new TrackVoter(Options);
        Assert.Equal(TrackVerdict.Pending, voter.Add(Yes(7), time.GetTimestamp(), time).Verdict);
    }

    [Fact]
    public void Three_agreeing_looks_grant_once()
    {
        var time = new ManualTime();
        var voter = new TrackVoter(Options);
        voter.Add(Yes(7), time.GetTimestamp(), time);
        voter.Add(No(), time.GetTimestamp(), time);
        voter.Add(Yes(7), time.GetTimestamp(), time);
        var d = voter.Add(Yes(7, 0.9f), time.GetTimestamp(), time);
        Assert.Equal(TrackVerdict.Grant, d.Verdict);
        Assert.Equal(7, d.PersonId);
        Assert.Equal(0.9f, d.Score);
        Assert.True(voter.Decided);
        Assert.Throws<InvalidOperationException>(() => voter.Add(Yes(7), time.GetTimestamp(), time));
    }

    [Fact]
    public void Looks_that_match_different_people_do_not_grant_and_end_as_ambiguous()
    {
        var time = new ManualTime();
        var voter = new TrackVoter(Options);
        foreach (var id in new[] { Yes(7), Yes(8), Yes(7), Yes(7) }) Assert.Equal(TrackVerdict.Pending, voter.Add(id, time.GetTimestamp(), time).Verdict);
        time.Advance(TimeSpan.FromSeconds(5));
        var d = voter.Evaluate(time.GetTimestamp(), time);
        Assert.Equal(TrackVerdict.Deny, d.Verdict);
        Assert.Contains("ambiguous", d.Reason);
    }

    [Fact]
    public void A_stranger_is_denied_once_the_window_has_passed_with_enough_looks()
    {
        var time = new ManualTime();
        var voter = new TrackVoter(Options);
        voter.Add(No(), time.GetTimestamp(), time);
        voter.Add(No(), time.GetTimestamp(), time);
        time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TrackVerdict.Pending, voter.Evaluate(time.GetTimestamp(), time).Verdict); // only two looks
        var d = voter.Add(No(), time.GetTimestamp(), time);
        Assert.Equal(TrackVerdict.Deny, d.Verdict);
        Assert.Equal("unknown face", d.Reason);
    }

    [Fact]
    public void Hopeless_tracks_are_denied_before_the_window_ends()
    {
        var time = new ManualTime();
        var voter = new TrackVoter(Options);
        TrackDecision d = default;
        for (int i = 0; i < 5; i++) d = voter.Add(No(), time.GetTimestamp(), time);
        Assert.Equal(TrackVerdict.Deny, d.Verdict);
    }

    [Fact]
    public void Single_frame_grants_need_an_explicit_switch()
    {
        Assert.Throws<ArgumentException>(() => (Options with { Votes = 1 }).Validate());
        (Options with { Votes = 1, AllowSingleFrameGrant = true }).Validate();
    }
}

public sealed class AccessScheduleTests
{
    private static Person P(params string[] groups) => new(1, "Ada", null, groups, null, null, true, DateTimeOffset.UnixEpoch, 0);

    private static readonly AccessSchedule Schedule = new(new Dictionary<string, IReadOnlyList<string>>
    {
        ["staff"] = ["Mon-Fri 07:00-19:00", "Sat 09:00-13:00"],
        ["night"] = ["Sun-Mon 22:00-23:59"],
    }, TimeZoneInfo.Utc);

    [Theory]
    [InlineData("2026-11-23T08:00:00Z", true)]   // Monday morning
    [InlineData("2026-11-23T19:00:00Z", false)]  // Monday 19:00: the window ends before it
    [InlineData("2026-11-28T10:00:00Z", true)]   // Saturday
    [InlineData("2026-11-29T10:00:00Z", false)]  // Sunday
    public void Staff_may_enter_inside_their_windows_only(string when, bool allowed)
    {
        Assert.Equal(allowed, Schedule.Check(P("staff"), DateTimeOffset.Parse(when)) is null);
    }

    [Fact]
    public void Windows_may_wrap_around_the_week_and_unscheduled_people_may_enter_any_time()
    {
        Assert.Null(Schedule.Check(P("night"), DateTimeOffset.Parse("2026-11-22T22:30:00Z"))); // Sunday night
        Assert.NotNull(Schedule.Check(P("night"), DateTimeOffset.Parse("2026-11-25T22:30:00Z"))); // Wednesday
        Assert.Null(Schedule.Check(P(), DateTimeOffset.Parse("2026-11-29T03:00:00Z")));
        Assert.Null(Schedule.Check(P("visitors"), DateTimeOffset.Parse("2026-11-29T03:00:00Z"))); // group without windows
    }

    [Fact]
    public void Validity_dates_and_disabled_people_are_enforced()
    {
        var now = DateTimeOffset.Parse("2026-11-23T08:00:00Z");
        Assert.Contains("not valid after", Schedule.Check(P() with { ValidUntil = now.AddDays(-1) }, now));
        Assert.Contains("not valid before", Schedule.Check(P() with { ValidFrom = now.AddDays(1) }, now));
        Assert.Equal("person disabled", Schedule.Check(P() with { Enabled = false }, now));
    }

    [Fact]
    public void A_malformed_window_is_refused_naming_the_group()
    {
        var e = Assert.Throws<SettingsException>(() => new AccessSchedule(new Dictionary<string, IReadOnlyList<string>> { ["staff"] = ["weekdays 9-5"] }));
        Assert.Contains("Schedules:staff", e.Message);
    }
}
