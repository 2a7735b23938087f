using Kiosk.Vision.Matching;

namespace Kiosk.Host.Recognition;

/// <summary>
/// When a track is decided. Grant after <see cref="Votes"/> accepted identifications of the same person among the
/// last <see cref="Attempts"/>, with none for anybody else; deny when the <see cref="Window"/> has passed (or the
/// attempts can no longer reach the votes) without a grant.
/// </summary>
public sealed record VotingOptions
{
    public int Votes { get; init; } = 3;
    public int Attempts { get; init; } = 5;
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(4);
    /// <summary>A stranger is reported only after this many usable looks at them.</summary>
    public int MinAttemptsToDeny { get; init; } = 3;
    /// <summary>Allow a grant on one frame (Votes = 1). Off: one lucky frame must never open the door.</summary>
    public bool AllowSingleFrameGrant { get; init; }

    public void Validate()
    {
        if (Votes < 1 || Votes > Attempts) throw new ArgumentException($"Recognition:Votes is {Votes}; it must be 1..Recognition:Attempts ({Attempts})");
        if (Votes == 1 && !AllowSingleFrameGrant)
            throw new ArgumentException("Recognition:Votes is 1, which grants on a single frame; set Recognition:AllowSingleFrameGrant to true if that is really wanted");
        if (Attempts > 64) throw new ArgumentException($"Recognition:Attempts is {Attempts}; at most 64");
        if (Window <= TimeSpan.Zero) throw new ArgumentException("Recognition:Window must be positive");
        if (MinAttemptsToDeny < 1) throw new ArgumentException("Recognition:MinAttemptsToDeny must be at least 1");
    }
}

public enum TrackVerdict { Pending, Grant, Deny }

/// <summary>The outcome for one track: who (for a grant), the best score seen for them, the deciding tier, why.</summary>
public readonly record struct TrackDecision(TrackVerdict Verdict, long PersonId, float Score, DecisionTier Tier, string Reason);

/// <summary>Collects one track's identifications and decides it once. Not thread-safe (one per track).</summary>
public sealed class TrackVoter
{
    private readonly VotingOptions _options;
    private readonly Identification[] _recent;
    private int _count, _next;
    private long _firstTicks = -1;

    public bool Decided { get; private set; }
    public int Seen { get; private set; }

    public TrackVoter(VotingOptions options)
    {
        _options = options;
        _recent = new Identification[options.Attempts];
    }

    /// <summary>Adds an identification made at <paramref name="nowTicks"/> and returns the verdict so far.</summary>
    public TrackDecision Add(in Identification id, long nowTicks, TimeProvider time)
    {
        if (Decided) throw new InvalidOperationException("the track is already decided");
        if (_firstTicks < 0) _firstTicks = nowTicks;
        _recent[_next] = id;
        _next = (_next + 1) % _recent.Length;
        _count = Math.Min(_count + 1, _recent.Length);
        Seen++;
        return Evaluate(nowTicks, time);
    }

    /// <summary>The verdict at <paramref name="nowTicks"/> (call on frames without a usable face too, for the deadline).</summary>
    public TrackDecision Evaluate(long nowTicks, TimeProvider time)
    {
        if (Decided || _count == 0) return new(TrackVerdict.Pending, 0, 0, DecisionTier.Fast, "");
        long best = 0;
        int bestVotes = 0, others = 0;
        float bestScore = float.NegativeInfinity;
        DecisionTier tier = DecisionTier.Fast;
        // Votes per accepted person among the recent attempts (at most 64: counted by scanning).
        for (int i = 0; i < _count; i++)
        {
            if (!_recent[i].Accepted) continue;
            long p = _recent[i].PersonId;
            int votes = 0;
            for (int j = 0; j < _count; j++) if (_recent[j].Accepted && _recent[j].PersonId == p) votes++;
            if (votes > bestVotes) { bestVotes = votes; best = p; }
        }
        for (int i = 0; i < _count; i++)
        {
            if (!_recent[i].Accepted) continue;
            if (_recent[i].PersonId != best) { others++; continue; }
            if (_recent[i].Score > bestScore) { bestScore = _recent[i].Score; tier = _recent[i].Tier; }
        }

        if (bestVotes >= _options.Votes && others == 0)
            return Decide(TrackVerdict.Grant, best, bestScore, tier, $"{bestVotes} of the last {_count} looks agree");

        bool expired = time.GetElapsedTime(_firstTicks, nowTicks) >= _options.Window;
        int remaining = _options.Attempts - _count;
        bool hopeless = _count == _options.Attempts && bestVotes + remaining < _options.Votes;
        if ((expired || hopeless) && Seen >= _options.MinAttemptsToDeny)
        {
            string why = others > 0 && bestVotes > 0 ? "ambiguous: matched different people"
                : bestVotes > 0 ? $"only {bestVotes} of {_count} looks matched (need {_options.Votes})"
                : "unknown face";
            return Decide(TrackVerdict.Deny, bestVotes > 0 ? best : 0, bestVotes > 0 ? bestScore : float.NaN, tier, why);
        }
        return new(TrackVerdict.Pending, 0, 0, DecisionTier.Fast, "");
    }

    /// <summary>
    /// The track ended (the face left the picture) before a decision: a stranger who was looked at often enough is
    /// reported as denied; a passer-by seen too briefly is not.
    /// </summary>
    public TrackDecision Conclude(long nowTicks, TimeProvider time)
    {
        var d = Evaluate(nowTicks, time);
        if (d.Verdict != TrackVerdict.Pending || Decided || Seen < _options.MinAttemptsToDeny) return d;
        return Decide(TrackVerdict.Deny, 0, float.NaN, DecisionTier.Fast, "left before a match");
    }

    private TrackDecision Decide(TrackVerdict v, long person, float score, DecisionTier tier, string reason)
    {
        Decided = true;
        return new(v, person, score, tier, reason);
    }
}
