using System.Text.Json;
using System.Text.RegularExpressions;
using Kiosk.Host.Events;
using Kiosk.Host.Mqtt;

namespace Kiosk.Tests.Mqtt;

/// <summary>The published event JSON against its documented schema (docs/mqtt/event.schema.json).</summary>
public sealed class EventPayloadTests
{
    private static JsonElement Schema() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "mqtt", "event.schema.json"))).RootElement;

    private static JsonElement Publish(KioskEvent e, long sequence = 42) =>
        JsonDocument.Parse(EventPayload.From(new StoredEvent(sequence, e, false), "hq", "door-1").ToUtf8()).RootElement;

    [Fact]
    public void A_grant_carries_every_required_field_in_the_documented_formats()
    {
        var e = new KioskEvent(Guid.Parse("5b1e2f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b"), EventKind.Granted,
            new DateTimeOffset(2026, 11, 22, 9, 30, 5, 123, TimeSpan.FromHours(1)), 7, "Ada", 0.8123f, "fast", "3 of 5 looks agree");
        var json = Publish(e);
        var schema = Schema();
        foreach (var required in schema.GetProperty("required").EnumerateArray())
            Assert.True(json.TryGetProperty(required.GetString()!, out _), $"missing {required}");
        var allowed = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var p in json.EnumerateObject()) Assert.Contains(p.Name, allowed);

        Assert.Equal("kiosk-event/1", json.GetProperty("schema").GetString());
        Assert.Equal("5b1e2f0a-3c4d-4e5f-8a9b-0c1d2e3f4a5b", json.GetProperty("id").GetString());
        Assert.Equal(42, json.GetProperty("sequence").GetInt64());
        Assert.Equal("2026-11-22T08:30:05.123Z", json.GetProperty("occurred_utc").GetString()); // UTC, milliseconds
        Assert.Matches(new Regex(schema.GetProperty("properties").GetProperty("occurred_utc").GetProperty("pattern").GetString()!),
            json.GetProperty("occurred_utc").GetString()!);
        Assert.Contains(json.GetProperty("kind").GetString(),
            schema.GetProperty("properties").GetProperty("kind").GetProperty("enum").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal(7, json.GetProperty("person_id").GetInt64());
        Assert.Equal(0.8123, json.GetProperty("score").GetDouble(), 4);
    }

    [Fact]
    public void Every_event_kind_is_in_the_schema_and_absent_fields_are_left_out()
    {
        var kinds = Schema().GetProperty("properties").GetProperty("kind").GetProperty("enum").EnumerateArray().Select(k => k.GetString()).ToHashSet();
        foreach (var kind in Enum.GetValues<EventKind>()) Assert.Contains(kind.ToString(), kinds);
        var json = Publish(KioskEvent.Now(EventKind.DoorForced, "door opened while locked"));
        Assert.False(json.TryGetProperty("person_id", out _));
        Assert.False(json.TryGetProperty("snapshot_jpeg", out _));
    }

    [Fact]
    public void A_snapshot_travels_as_base64()
    {
        var jpeg = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3 };
        var json = Publish(KioskEvent.Now(EventKind.UnknownFace, "unknown face", snapshotJpeg: jpeg));
        Assert.Equal(jpeg, Convert.FromBase64String(json.GetProperty("snapshot_jpeg").GetString()!));
    }
}
