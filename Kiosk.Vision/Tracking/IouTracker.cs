using Kiosk.Vision.Faces;

namespace Kiosk.Vision.Tracking;

/// <summary>A face followed across frames: a stable id, its latest box, when it was first and last seen.</summary>
public sealed class Track
{
    public long Id { get; }
    public BoxF Box { get; internal set; }
    public float Score { get; internal set; }
    public long FirstSeenTicks { get; }
    public long LastSeenTicks { get; internal set; }
    /// <summary>Frames since the track was last matched to a detection (0 = seen in the latest frame).</summary>
    public int Missed { get; internal set; }
    /// <summary>Frames in which the track was seen.</summary>
    public int Hits { get; internal set; }

    internal Track(long id, in FaceDetection d, long nowTicks)
    {
        Id = id;
        Box = d.Box;
        Score = d.Score;
        FirstSeenTicks = nowTicks;
        LastSeenTicks = nowTicks;
        Hits = 1;
    }
}

/// <summary>
/// Greedy IoU tracker: each frame's detections are matched to the live tracks by highest box overlap (at least
/// <see cref="MinIoU"/>); unmatched detections start tracks, tracks unmatched for more than <see cref="MaxMissed"/>
/// frames or for longer than <see cref="MaxGapTicks"/> end. The time limit matters when frames come slowly (a busy
/// processor): a face that left and another that stepped into its place must not share a track. Enough for a kiosk's camera, where people walk up one or a few at a time. Not thread-safe.
/// </summary>
public sealed class IouTracker
{
    private readonly List<Track> _live = new(16);
    private readonly List<Track> _ended = new(16);
    private readonly List<(float IoU, int Track, int Detection)> _pairs = new(64);
    private bool[] _trackUsed = new bool[16], _detUsed = new bool[16];
    private long _nextId = 1;

    public float MinIoU { get; }
    public int MaxMissed { get; }
    /// <summary>Longest time, in the caller's timestamp units, a track may go unseen.</summary>
    public long MaxGapTicks { get; }
    public IReadOnlyList<Track> Live => _live;

    public IouTracker(float minIoU = 0.3f, int maxMissed = 5, long maxGapTicks = long.MaxValue)
    {
        if (maxGapTicks <= 0) throw new ArgumentOutOfRangeException(nameof(maxGapTicks), maxGapTicks, "Tracking:MaxGap must be positive");
        if (minIoU is <= 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(minIoU), minIoU, "Tracking:MinIoU must be between 0 and 1");
        if (maxMissed < 0) throw new ArgumentOutOfRangeException(nameof(maxMissed), maxMissed, "Tracking:MaxMissed must be >= 0");
        MinIoU = minIoU;
        MaxMissed = maxMissed;
        MaxGapTicks = maxGapTicks;
    }

    /// <summary>
    /// Takes one frame's detections; returns the tracks that ended with this frame (valid until the next call).
    /// <paramref name="trackOfDetection"/> receives, per detection, the track it now belongs to.
    /// </summary>
    public IReadOnlyList<Track> Update(IReadOnlyList<FaceDetection> detections, long nowTicks, Span<Track?> trackOfDetection = default)
    {
        _ended.Clear();
        if (_trackUsed.Length < _live.Count) _trackUsed = new bool[_live.Count * 2];
        if (_detUsed.Length < detections.Count) _detUsed = new bool[detections.Count * 2];
        Array.Clear(_trackUsed, 0, _live.Count);
        Array.Clear(_detUsed, 0, detections.Count);

        _pairs.Clear();
        for (int t = 0; t < _live.Count; t++)
        {
            if (nowTicks - _live[t].LastSeenTicks > MaxGapTicks) continue; // gone too long: ends below, cannot be continued
            for (int d = 0; d < detections.Count; d++)
            {
                float iou = BoxF.IoU(_live[t].Box, detections[d].Box);
                if (iou >= MinIoU) _pairs.Add((iou, t, d));
            }
        }
        _pairs.Sort(static (a, b) => b.IoU.CompareTo(a.IoU));
        foreach (var (_, t, d) in _pairs)
        {
            if (_trackUsed[t] || _detUsed[d]) continue;
            _trackUsed[t] = _detUsed[d] = true;
            var track = _live[t];
            track.Box = detections[d].Box;
            track.Score = detections[d].Score;
            track.LastSeenTicks = nowTicks;
            track.Missed = 0;
            track.Hits++;
            if (!trackOfDetection.IsEmpty) trackOfDetection[d] = track;
        }

        int liveBefore = _live.Count;
        for (int t = liveBefore - 1; t >= 0; t--)
        {
            if (_trackUsed[t]) continue;
            var track = _live[t];
            if (++track.Missed > MaxMissed || nowTicks - track.LastSeenTicks > MaxGapTicks)
            {
                _ended.Add(track);
                _live.RemoveAt(t);
            }
        }
        for (int d = 0; d < detections.Count; d++)
        {
            if (_detUsed[d]) continue;
            var track = new Track(_nextId++, detections[d], nowTicks);
            _live.Add(track);
            if (!trackOfDetection.IsEmpty) trackOfDetection[d] = track;
        }
        return _ended;
    }

    /// <summary>Ends every live track (e.g. the camera went away); returns them.</summary>
    public IReadOnlyList<Track> EndAll()
    {
        _ended.Clear();
        _ended.AddRange(_live);
        _live.Clear();
        return _ended;
    }
}
