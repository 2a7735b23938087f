using Kiosk.Hardware.Door;
using Kiosk.Host.Events;
using Kiosk.Host.Gallery;
using Kiosk.Vision.Capture;
using Kiosk.Vision.Faces;
using Kiosk.Vision.Imaging;
using Kiosk.Vision.Tracking;
using Microsoft.Extensions.Logging;

namespace Kiosk.Host.Recognition;

/// <summary>The recognition loop's settings (section "Recognition").</summary>
public sealed record RecognitionOptions
{
    public VotingOptions Voting { get; init; } = new();
    /// <summary>After a grant, the same person is not granted again for this long (one visit, one pulse).</summary>
    public TimeSpan PersonCooldown { get; init; } = TimeSpan.FromSeconds(20);
    public float TrackMinIoU { get; init; } = 0.3f;
    /// <summary>Frames a face may be missing before its track ends.</summary>
    public int TrackMaxMissedFrames { get; init; } = 8;
    /// <summary>Time a face may be missing before its track ends, however few frames that was (a slow processor).</summary>
    public TimeSpan TrackMaxGap { get; init; } = TimeSpan.FromSeconds(0.5);
    /// <summary>How often the gallery is checked for changes made by another process.</summary>
    public TimeSpan GalleryRefresh { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>
    /// Liveness gate with fr_liveness: an accepted look counts only if the face scores at least
    /// <see cref="LivenessThreshold"/> as live. Off until its accuracy is measured on real and spoofed faces.
    /// </summary>
    public bool Liveness { get; init; }
    public float LivenessThreshold { get; init; } = 0.5f;

    public void Validate()
    {
        Voting.Validate();
        if (PersonCooldown < TimeSpan.Zero) throw new ArgumentException("Recognition:PersonCooldown must not be negative");
        if (TrackMinIoU is <= 0 or >= 1) throw new ArgumentException("Recognition:TrackMinIoU must be between 0 and 1");
        if (TrackMaxMissedFrames < 0) throw new ArgumentException("Recognition:TrackMaxMissedFrames must be >= 0");
        if (TrackMaxGap <= TimeSpan.Zero) throw new ArgumentException("Recognition:TrackMaxGap must be positive");
        if (LivenessThreshold is < 0 or > 1) throw new ArgumentException("Recognition:LivenessThreshold is a probability, 0..1");
    }
}

/// <summary>A track's decision as the loop acted on it, with the time from the face's first frame to the action.</summary>
public sealed record DecisionRecord(long TrackId, TrackVerdict Verdict, long PersonId, string? PersonName, float Score,
    string Tier, string Reason, DateTimeOffset DecidedUtc, TimeSpan Latency, bool DoorOpened);

/// <summary>
/// Camera to door: each frame is searched for faces, faces are followed as tracks, each good look is identified
/// (two tiers), and a track is decided by votes over several looks (<see cref="TrackVoter"/>). A grant is written to
/// the event store first, then the door is pulsed; a denial is written, then signalled. One thread; nothing it
/// uses per frame is allocated per frame except decisions' records.
/// </summary>
public sealed class RecognitionLoop
{
    private readonly FfmpegFrameSource _source;
    private readonly GalleryService _gallery;
    private readonly DoorController _door;
    private readonly EventStore _events;
    private readonly AccessSchedule _schedule;
    private readonly RecognitionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IouTracker _tracker;
    private readonly Dictionary<long, TrackVoter> _voters = new();
    private readonly Dictionary<long, long> _lastGrant = new();
    private readonly List<FaceDetection> _detections = new(16);
    private readonly float[] _embedding;
    private Track?[] _trackOf = new Track?[16];
    private long _lastRefresh;

    public long Frames { get; private set; }
    public long Looks { get; private set; }
    public event Action<DecisionRecord>? Decided;
    /// <summary>Called once per loop turn (a frame, or a second without one): the service's watchdog heartbeat.</summary>
    public event Action? Heartbeat;

    private readonly LivenessChecker? _liveness;
    private readonly bool _keepSnapshots;

    public RecognitionLoop(FfmpegFrameSource source, GalleryService gallery, DoorController door, EventStore events,
        AccessSchedule schedule, RecognitionOptions options, TimeProvider time, ILogger logger, LivenessChecker? liveness = null,
        bool keepSnapshots = false)
    {
        _keepSnapshots = keepSnapshots;
        _liveness = options.Liveness ? liveness ?? throw new ArgumentException("Recognition:Liveness is on but no liveness model was given") : null;
        options.Validate();
        _source = source; _gallery = gallery; _door = door; _events = events; _schedule = schedule;
        _options = options; _time = time; _logger = logger;
        _tracker = new IouTracker(options.TrackMinIoU, options.TrackMaxMissedFrames,
            Math.Max(1, (long)(options.TrackMaxGap.TotalSeconds * time.TimestampFrequency)));
        _embedding = new float[gallery.Settings.Fast.OutputSize];
        _lastRefresh = time.GetTimestamp();
    }

    public async Task RunAsync(CancellationToken ct)
    {
        var turn = CancellationTokenSource.CreateLinkedTokenSource(ct);
        try
        {
            await RunTurnsAsync(ct, () =>
            {
                // A second at most per turn: the heartbeat goes on while the camera is away. A source that timed out
                // cannot be reset; only then is a new one made.
                if (!turn.TryReset())
                {
                    turn.Dispose();
                    turn = CancellationTokenSource.CreateLinkedTokenSource(ct);
                }
                turn.CancelAfter(TimeSpan.FromSeconds(1));
                return turn.Token;
            }).ConfigureAwait(false);
        }
        finally
        {
            turn.Dispose();
        }
    }

    private async Task RunTurnsAsync(CancellationToken ct, Func<CancellationToken> nextTurn)
    {
        while (!ct.IsCancellationRequested)
        {
            Frame frame;
            var turnToken = nextTurn();
            try
            {
                frame = await _source.NextFrameAsync(turnToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                Heartbeat?.Invoke();
                Expire(_time.GetTimestamp());
                continue;
            }
            using (frame)
            {
                lock (_gallery.SyncRoot) Process(frame);
            }
            Heartbeat?.Invoke();
        }
    }

    private void Process(Frame frame)
    {
        long now = _time.GetTimestamp();
        Frames++;
        if (_time.GetElapsedTime(_lastRefresh, now) >= _options.GalleryRefresh)
        {
            _lastRefresh = now;
            if (_gallery.RefreshIfChanged()) Log.GalleryReloaded(_logger, _gallery.FastIndex.PersonCount);
        }

        _gallery.Pipeline.Detector.Detect(frame.Image, _detections);
        if (_trackOf.Length < _detections.Count) _trackOf = new Track?[_detections.Count * 2];
        var ended = _tracker.Update(_detections, now, _trackOf.AsSpan(0, _detections.Count));
        foreach (var t in ended)
        {
            bool had = _voters.Remove(t.Id, out var voter);
            if (had && !voter!.Decided) Act(t, voter.Conclude(now, _time), frame);
            Log.TrackEnded(_logger, t.Id, t.Hits, voter?.Seen ?? 0, voter?.Decided ?? false);
        }

        for (int i = 0; i < _detections.Count; i++)
        {
            var track = _trackOf[i]!;
            if (!_voters.TryGetValue(track.Id, out var voter))
            {
                _voters[track.Id] = voter = new TrackVoter(_options.Voting);
                Log.TrackStarted(_logger, track.Id, track.Box.Width, Frames);
            }
            if (voter.Decided) continue;
            var (_, rejection, decision) = _gallery.IdentifyFace(frame.Image, _detections[i], _embedding);
            if (decision is not { } d) continue; // not a usable look (too small, blurred, turned)
            if (_liveness is not null && d.Accepted)
            {
                float live = _liveness.Score(frame.Image, _detections[i].Box);
                if (live < _options.LivenessThreshold)
                    d = d with { Accepted = false, Reason = FormattableString.Invariant($"liveness {live:F2} < {_options.LivenessThreshold:F2}") };
            }
            Looks++;
            Act(track, voter.Add(d, now, _time), frame);
        }
        Expire(now);
    }

    /// <summary>Deadlines of tracks not seen in this turn.</summary>
    private void Expire(long now)
    {
        foreach (var track in _tracker.Live)
        {
            if (track.Missed == 0 || !_voters.TryGetValue(track.Id, out var voter) || voter.Decided) continue;
            Act(track, voter.Evaluate(now, _time), null);
        }
    }

    /// <summary>
    /// The face of a decision as a JPEG (its box grown by half on each side), when snapshots are kept
    /// (Events:KeepSnapshots, off by default: no face image is stored unless configured).
    /// </summary>
    private byte[]? Snapshot(Track track, Frame? frame)
    {
        if (!_keepSnapshots || frame is null) return null;
        var b = track.Box;
        float w = b.Width * 2, h = b.Height * 2;
        int x0 = (int)Math.Max(0, b.Center.X - w / 2), y0 = (int)Math.Max(0, b.Center.Y - h / 2);
        int x1 = (int)Math.Min(frame.Image.Width, b.Center.X + w / 2), y1 = (int)Math.Min(frame.Image.Height, b.Center.Y + h / 2);
        if (x1 - x0 < 8 || y1 - y0 < 8) return null;
        var crop = new BgrImage(x1 - x0, y1 - y0);
        for (int y = 0; y < crop.Height; y++) frame.Image.Row(y0 + y).Slice(x0 * 3, crop.Stride).CopyTo(crop.Row(y));
        return ImageEncoder.EncodeJpeg(crop, 85);
    }

    private void Act(Track track, TrackDecision decision, Frame? frame)
    {
        if (decision.Verdict == TrackVerdict.Pending) return;
        byte[]? snapshot = Snapshot(track, frame);
        long now = _time.GetTimestamp();
        var latency = _time.GetElapsedTime(track.FirstSeenTicks, now);
        var utc = _time.GetUtcNow();
        string tier = decision.Tier.ToString().ToLowerInvariant();

        if (decision.Verdict == TrackVerdict.Grant)
        {
            var person = _gallery.Store.GetPerson(decision.PersonId);
            string? refusal = person is null ? "removed from the gallery" : _schedule.Check(person, utc);
            if (refusal is not null)
            {
                _events.Append(KioskEvent.Now(EventKind.Denied, refusal, decision.PersonId, person?.Name, decision.Score, tier, snapshot) with { PersonUid = person?.Uid });
                _door.SignalDenied();
                Decided?.Invoke(new DecisionRecord(track.Id, TrackVerdict.Deny, decision.PersonId, person?.Name, decision.Score, tier, refusal, utc, latency, false));
                return;
            }
            if (_lastGrant.TryGetValue(decision.PersonId, out long last) && _time.GetElapsedTime(last, now) < _options.PersonCooldown)
            {
                // The same visit seen as a new track (turned away and back): one pulse per visit.
                Log.CooldownSuppressed(_logger, decision.PersonId);
                return;
            }
            _lastGrant[decision.PersonId] = now;
            // Written first: a grant the process dies after is still on record; a pulse never happens unrecorded.
            _events.Append(KioskEvent.Now(EventKind.Granted, decision.Reason, decision.PersonId, person!.Name, decision.Score, tier, snapshot) with { PersonUid = person.Uid });
            _door.Unlock(null, $"granted {person.Name}");
            _door.SignalGranted();
            Log.Granted(_logger, person.Name, decision.PersonId, decision.Score, tier, latency.TotalMilliseconds);
            Decided?.Invoke(new DecisionRecord(track.Id, TrackVerdict.Grant, decision.PersonId, person.Name, decision.Score, tier, decision.Reason, utc, latency, true));
            return;
        }

        var kind = decision.PersonId != 0 ? EventKind.Denied : EventKind.UnknownFace;
        var known = decision.PersonId != 0 ? _gallery.Store.GetPerson(decision.PersonId) : null;
        _events.Append(KioskEvent.Now(kind, decision.Reason, decision.PersonId == 0 ? null : decision.PersonId, known?.Name,
            float.IsNaN(decision.Score) ? null : decision.Score, tier, snapshot) with { PersonUid = known?.Uid });
        _door.SignalDenied();
        Log.Denied(_logger, decision.Reason, latency.TotalMilliseconds);
        Decided?.Invoke(new DecisionRecord(track.Id, TrackVerdict.Deny, decision.PersonId, known?.Name, decision.Score, tier, decision.Reason, utc, latency, false));
    }
}
