namespace Kiosk.Host.Mqtt.Commands;

/// <summary>
/// The replies of recent commands by request id, so that a command delivered twice (QoS 1 may) is answered twice but
/// carried out once. Entries live as long as a command can be fresh (<see cref="CommandOptions.CommandMaxAge"/> plus
/// the allowed clock skew): a repeat after that is refused as stale anyway. Bounded: beyond
/// <see cref="Capacity"/> the oldest entry goes first. Not thread-safe (the processor calls it under its lock).
/// </summary>
internal sealed class ReplyCache(int capacity, TimeSpan lifetime)
{
    internal sealed record Entry(byte[] Digest, CommandReply Reply, DateTimeOffset At);

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<(string RequestId, DateTimeOffset At)> _order = new();

    public int Capacity { get; } = capacity;
    public int Count => _entries.Count;

    public bool TryGet(string requestId, out Entry entry) => _entries.TryGetValue(requestId, out entry!);

    public void Add(string requestId, byte[] digest, CommandReply reply, DateTimeOffset now)
    {
        while (_entries.Count >= Capacity && _order.TryDequeue(out var oldest))
            Forget(oldest);
        _entries[requestId] = new Entry(digest, reply, now);
        _order.Enqueue((requestId, now));
    }

    public void Expire(DateTimeOffset now)
    {
        while (_order.TryPeek(out var oldest) && now - oldest.At > lifetime)
            Forget(_order.Dequeue());
    }

    // The queue may name an id whose entry was replaced later: only the entry of that moment goes.
    private void Forget((string RequestId, DateTimeOffset At) item)
    {
        if (_entries.TryGetValue(item.RequestId, out var e) && e.At == item.At) _entries.Remove(item.RequestId);
    }
}

/// <summary>
/// At most one warning per interval for a kind of refusal, with the count of those not warned about: a flood of
/// forged or broken messages must not fill the journal. Not thread-safe (used under the processor's lock).
/// </summary>
internal sealed class LogThrottle(TimeSpan interval)
{
    private DateTimeOffset? _last;
    private int _suppressed;

    /// <summary>True when this one should be logged as a warning; <paramref name="suppressed"/> counts those since the last.</summary>
    public bool ShouldWarn(DateTimeOffset now, out int suppressed)
    {
        if (_last is { } last && now - last < interval)
        {
            _suppressed++;
            suppressed = 0;
            return false;
        }
        suppressed = _suppressed;
        _suppressed = 0;
        _last = now;
        return true;
    }
}
