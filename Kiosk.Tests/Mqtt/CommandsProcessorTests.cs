using System.Text;
using System.Text.Json.Nodes;
using Kiosk.Host.Events;
using Kiosk.Host.Mqtt.Commands;
using Kiosk.Tests.Faces;
using Kiosk.Tests.Gallery;
using Kiosk.Tests.Hardware;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Kiosk.Tests.Mqtt;

/// <summary>Commands through the processor alone (no broker): real models, real photos, a real gallery file.</summary>
[Collection(ModelCollection.Name)]
public sealed class CommandsProcessorTests : IDisposable
{
    private readonly CommandRig _rig = new();

    public void Dispose() => _rig.Dispose();

    private ParsedReply Send(Kiosk.Host.Mqtt.Commands.CommandProcessor processor, JsonObject command) =>
        ParsedReply.From(processor.Process(_rig.Signed(command)));

    [Fact]
    public void Enroll_from_a_real_jpeg_replies_with_the_uid_and_get_person_shows_metadata_but_never_a_vector()
    {
        using var processor = _rig.Processor();
        var enroll = CommandRig.Command("enroll", "enroll-1");
        enroll["name"] = "Angelina";
        enroll["external_id"] = "A-1";
        enroll["groups"] = new JsonArray("staff", "night");
        enroll["valid_until"] = "2030-01-01T00:00:00+01:00";
        enroll["images"] = CommandRig.Photos("img1.jpg", "couple.jpg");
        enroll["reply_to"] = "integrator/replies/7";

        var reply = Send(processor, enroll);

        Assert.True(reply.Ok, reply.ToString());
        Assert.Equal("integrator/replies/7", reply.Topic);
        Assert.Equal("enroll-1", reply.RequestId);
        string uid = reply.Person.GetProperty("person_id").GetString()!;
        var stored = _rig.Gallery.Store.FindByUid(uid)!;
        Assert.Equal(("Angelina", "A-1"), (stored.Name, stored.ExternalId));
        Assert.Equal(["night", "staff"], stored.Groups);
        Assert.Equal(new DateTimeOffset(2029, 12, 31, 23, 0, 0, TimeSpan.Zero), stored.ValidUntil);
        Assert.Equal(["images[0]"], reply.Result.GetProperty("accepted").EnumerateArray().Select(e => e.GetString()));
        var rejected = Assert.Single(reply.Result.GetProperty("rejected").EnumerateArray());
        Assert.Equal("images[1]", rejected.GetProperty("source").GetString());
        Assert.Contains("2 faces", rejected.GetProperty("reason").GetString());
        // The stored template says where it came from.
        Assert.Equal("mqtt enroll-1 images[0]", Assert.Single(_rig.Gallery.Store.TemplatesOf(stored.Id)).Source);
        // The kiosk now recognises her from another photo.
        var who = _rig.Gallery.Identify(PipelineFixture.Load("img2.jpg")).Single(f => f.Decision is not null).Decision!.Value;
        Assert.True(who.Accepted);
        Assert.Equal(stored.Id, who.PersonId);

        var get = CommandRig.Command("get-person", "get-1");
        get["external_id"] = "A-1";
        var got = Send(processor, get);
        Assert.True(got.Ok, got.ToString());
        Assert.Equal("kiosk-reply/1", got.Root.GetProperty("schema").GetString());
        Assert.Equal(_rig.Topics.Replies, got.Topic);
        var p = got.Person;
        Assert.Equal(uid, p.GetProperty("person_id").GetString());
        Assert.Equal("Angelina", p.GetProperty("name").GetString());
        Assert.Equal("2029-12-31T23:00:00.000Z", p.GetProperty("valid_until").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, p.GetProperty("valid_from").ValueKind);
        Assert.True(p.GetProperty("enabled").GetBoolean());
        Assert.Equal(stored.SiteRevision, p.GetProperty("site_revision").GetInt64());
        var templates = Assert.Single(p.GetProperty("templates").EnumerateArray());
        Assert.Equal(_rig.Gallery.Settings.Fast.Name, templates.GetProperty("model").GetString());
        Assert.Equal(_rig.Gallery.FastModelKey, templates.GetProperty("model_hash").GetString());
        Assert.Equal(1, templates.GetProperty("count").GetInt32());
        Assert.DoesNotContain("vector", got.ToString());
    }

    [Fact]
    public void Update_changes_only_the_fields_given_and_adds_photos_and_delete_makes_the_person_unknown()
    {
        using var processor = _rig.Processor();
        var enroll = CommandRig.Command("enroll", "e-1");
        enroll["name"] = "George";
        enroll["external_id"] = "G-1";
        enroll["groups"] = new JsonArray("staff");
        enroll["images"] = CommandRig.Photos("img38.jpg");
        string uid = Send(processor, enroll).Person.GetProperty("person_id").GetString()!;
        long before = _rig.Gallery.Store.FindByUid(uid)!.SiteRevision;

        // Addressed by external_id: name and validity change, a photo is added; groups and the external id stay.
        var byExternal = CommandRig.Command("update", "u-1");
        byExternal["external_id"] = "G-1";
        byExternal["name"] = "George W.";
        byExternal["valid_from"] = "2026-01-01T08:00:00Z";
        byExternal["images"] = CommandRig.Photos("img39.jpg");
        var updated = Send(processor, byExternal);
        Assert.True(updated.Ok, updated.ToString());
        var person = _rig.Gallery.Store.FindByUid(uid)!;
        Assert.Equal(("George W.", "G-1", true), (person.Name, person.ExternalId, person.Enabled));
        Assert.Equal(["staff"], person.Groups);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 8, 0, 0, TimeSpan.Zero), person.ValidFrom);
        Assert.Equal(2, _rig.Gallery.Store.TemplatesOf(person.Id).Count);
        Assert.True(person.SiteRevision > before);

        // Addressed by person_id: external_id is a field like the others; null clears groups.
        var byUid = CommandRig.Command("update", "u-2");
        byUid["person_id"] = uid.ToUpperInvariant();
        byUid["external_id"] = "G-2";
        byUid["groups"] = null;
        byUid["enabled"] = false;
        Assert.True(Send(processor, byUid).Ok);
        person = _rig.Gallery.Store.FindByUid(uid)!;
        Assert.Equal(("George W.", "G-2", false), (person.Name, person.ExternalId, person.Enabled));
        Assert.Empty(person.Groups);
        Assert.Equal(0, _rig.Gallery.FastIndex.PersonCount); // disabled: out of the index

        // Photos of someone else for George: refused as a whole, and nothing about George changed.
        long revision = _rig.Revision;
        var wrongFace = CommandRig.Command("update", "u-3");
        wrongFace["person_id"] = uid;
        wrongFace["name"] = "Not George";
        wrongFace["images"] = new JsonArray(Convert.ToBase64String(NoFaceJpeg()));
        var refused = Send(processor, wrongFace);
        Assert.Equal("no_face", refused.Code);
        Assert.Equal("George W.", _rig.Gallery.Store.FindByUid(uid)!.Name);
        Assert.Equal(revision, _rig.Revision);

        var delete = CommandRig.Command("delete", "d-1");
        delete["person_id"] = uid;
        var deleted = Send(processor, delete);
        Assert.True(deleted.Ok, deleted.ToString());
        Assert.True(deleted.Result.GetProperty("deleted").GetBoolean());
        Assert.Null(_rig.Gallery.Store.FindByUid(uid));

        var get = CommandRig.Command("get-person", "g-1");
        get["person_id"] = uid;
        Assert.Equal("unknown_person", Send(processor, get).Code);
        var again = CommandRig.Command("delete", "d-2");
        again["person_id"] = uid;
        var second = Send(processor, again);
        Assert.Equal("unknown_person", second.Code);
        Assert.Contains(uid, second.Message);
    }

    [Fact]
    public void Enroll_with_templates_as_numbers_or_base64_makes_a_recognisable_person_and_a_duplicate_template_is_already_enrolled()
    {
        using var processor = _rig.Processor();
        var fast = _rig.Gallery.Settings.Fast;
        float[] angelina = _rig.Embedding("img1.jpg");
        float[] george = _rig.Embedding("img38.jpg");

        var numbers = CommandRig.Command("enroll", "t-1");
        numbers["name"] = "Angelina";
        numbers["templates"] = new JsonArray(new JsonObject
        {
            ["model"] = fast.Name,
            ["model_hash"] = _rig.Gallery.FastModelKey,
            ["vector"] = new JsonArray([.. angelina.Select(v => (JsonNode)v)]),
            ["quality"] = 0.9,
        });
        var a = Send(processor, numbers);
        Assert.True(a.Ok, a.ToString());
        var base64 = CommandRig.Command("enroll", "t-2");
        base64["name"] = "George";
        base64["templates"] = new JsonArray(new JsonObject
        {
            ["model"] = fast.Name,
            ["model_hash"] = _rig.Gallery.FastModelKey,
            ["vector"] = Convert.ToBase64String(G.LittleEndian(george)),
        });
        var g = Send(processor, base64);
        Assert.True(g.Ok, g.ToString());
        Assert.Equal(["templates[0]"], g.Result.GetProperty("accepted").EnumerateArray().Select(e => e.GetString()));

        var who = _rig.Gallery.Identify(PipelineFixture.Load("img2.jpg")).Single(f => f.Decision is not null).Decision!.Value;
        Assert.True(who.Accepted);
        Assert.Equal(a.Person.GetProperty("person_id").GetString(), _rig.Gallery.Store.GetPerson(who.PersonId)!.Uid);
        var stored = Assert.Single(_rig.Gallery.Store.TemplatesOf(who.PersonId));
        Assert.Equal(0.9f, stored.Quality, 3);

        // Angelina's template again, under another name: she would be ambiguous with herself.
        int people = _rig.People;
        numbers["request_id"] = "t-3";
        numbers["name"] = "Angelina again";
        var dup = Send(processor, numbers);
        Assert.Equal("already_enrolled", dup.Code);
        Assert.Contains(a.Person.GetProperty("person_id").GetString()!, dup.Message);
        Assert.Equal(people, _rig.People);

        // Templates of another model, hash or length are not comparable with this kiosk's.
        foreach (var (field, value, expect) in new (string, JsonNode, string)[]
        {
            ("model", "arcface-other", "not one of this kiosk's"),
            ("model_hash", "0000:1111", "not one of this kiosk's"),
            ("vector", new JsonArray(1f, 0f), $"has 2 values; this model's templates have {fast.OutputSize}"),
            ("vector", Convert.ToBase64String(G.LittleEndian([.. Enumerable.Repeat(float.NaN, fast.OutputSize)])), "not a finite float32"),
            ("vector", new JsonArray([.. Enumerable.Range(0, fast.OutputSize).Select(_ => (JsonNode)0.5f)]), "unit vectors"),
        })
        {
            var bad = CommandRig.Command("enroll", "bad-" + Guid.NewGuid().ToString("N"));
            bad["name"] = "Bad template";
            var template = new JsonObject { ["model"] = fast.Name, ["model_hash"] = _rig.Gallery.FastModelKey, ["vector"] = Convert.ToBase64String(G.LittleEndian(george)) };
            template[field] = value;
            bad["templates"] = new JsonArray(template);
            var reply = Send(processor, bad);
            Assert.Equal("bad_value", reply.Code);
            Assert.Contains(expect, reply.Message);
            Assert.StartsWith("templates[0]", reply.Message);
        }
        Assert.Equal(people, _rig.People);
    }

    [Fact]
    public void A_second_enrollment_of_an_enrolled_face_is_already_enrolled_and_names_the_other_person_by_uid()
    {
        using var processor = _rig.Processor();
        var first = CommandRig.Command("enroll", "first");
        first["name"] = "Angelina";
        first["images"] = CommandRig.Photos("img1.jpg");
        string uid = Send(processor, first).Person.GetProperty("person_id").GetString()!;
        long revision = _rig.Revision;

        var second = CommandRig.Command("enroll", "second");
        second["name"] = "Someone else";
        second["images"] = CommandRig.Photos("img2.jpg", "img4.jpg");
        var reply = Send(processor, second);

        Assert.Equal("already_enrolled", reply.Code);
        Assert.Contains($"images[0]: already enrolled as person {uid}", reply.Message);
        Assert.Contains("images[1]: already enrolled", reply.Message);
        Assert.DoesNotContain("Angelina", reply.Message); // the other person by uid, not by name
        Assert.Equal(1, _rig.People);
        Assert.Equal(revision, _rig.Revision);

        var noFace = CommandRig.Command("enroll", "third");
        noFace["name"] = "Nobody";
        noFace["images"] = new JsonArray(Convert.ToBase64String(NoFaceJpeg()));
        Assert.Equal("no_face", Send(processor, noFace).Code);
        var twoFaces = CommandRig.Command("enroll", "fourth");
        twoFaces["name"] = "Two";
        twoFaces["images"] = CommandRig.Photos("couple.jpg");
        var quality = Send(processor, twoFaces);
        Assert.Equal("quality_too_low", quality.Code);
        Assert.Contains("2 faces", quality.Message);
    }

    [Fact]
    public void The_same_request_id_twice_executes_once_and_replies_the_same_and_a_different_command_under_it_is_a_conflict()
    {
        var log = new CapturingLogger<CommandsProcessorTests>();
        using var processor = _rig.Processor(logger: log);
        var enroll = CommandRig.Command("enroll", "once");
        enroll["name"] = "Angelina";
        enroll["images"] = CommandRig.Photos("img1.jpg");
        byte[] message = _rig.Signed(enroll);
        long revision = _rig.Revision;

        var first = processor.Process(message);
        var second = processor.Process(message); // QoS 1 delivered it again

        Assert.True(first.Ok);
        Assert.Equal(first.Payload, second.Payload);
        Assert.Equal(first.Topic, second.Topic);
        Assert.Equal(1, _rig.People);
        Assert.Equal(revision + 1, _rig.Revision);
        Assert.Equal(1, log.Count(6043));
        Assert.Equal(1, log.Count(6050));

        enroll["name"] = "Angelina (edited)";
        var conflict = ParsedReply.From(processor.Process(_rig.Signed(enroll)));
        Assert.Equal("conflict", conflict.Code);
        Assert.Contains("'once'", conflict.Message);
        Assert.Equal(1, _rig.People);

        // A refusal is remembered too: the repeat is refused the same way without new work.
        var unknown = CommandRig.Command("delete", "gone");
        unknown["person_id"] = Guid.NewGuid().ToString();
        byte[] delete = _rig.Signed(unknown);
        Assert.Equal(processor.Process(delete).Payload, processor.Process(delete).Payload);
    }

    [Fact]
    public async Task Open_door_writes_its_event_before_the_relay_moves_is_bounded_and_is_refused_unless_allowed()
    {
        await using var rig = new DoorRig();
        {
            var kindsAtUnlock = new List<EventKind?>();
            rig.Door.EventRaised += e =>
            {
                if (e.Kind == Kiosk.Hardware.Door.DoorEventKind.Unlocked) kindsAtUnlock.Add(_rig.Events.Latest(1).SingleOrDefault()?.Event.Kind);
            };
            using (var disabled = _rig.Processor(_rig.Options(allowOpenDoor: false), rig.Door))
            {
                var refused = Send(disabled, CommandRig.Command("open-door", "door-0"));
                Assert.Equal("door_disabled", refused.Code);
                Assert.Contains("Mqtt:AllowOpenDoor", refused.Message);
            }
            Assert.False(rig.Door.IsUnlocked);
            Assert.Equal(0L, _rig.Events.Count);

            using var processor = _rig.Processor(_rig.Options(allowOpenDoor: true), rig.Door);
            var tooLong = CommandRig.Command("open-door", "door-1");
            tooLong["seconds"] = 301;
            Assert.Equal("bad_value", Send(processor, tooLong).Code);
            tooLong["request_id"] = "door-1b";
            var beyondDouble = ParsedReply.From(processor.Process(_rig.Signed(tooLong.ToJsonString().Replace("\"seconds\":301", "\"seconds\":1e999"))));
            Assert.Equal("bad_value", beyondDouble.Code);
            Assert.False(rig.Door.IsUnlocked);

            var open = CommandRig.Command("open-door", "door-2");
            open["seconds"] = 2.5;
            var reply = Send(processor, open);
            Assert.True(reply.Ok, reply.ToString());
            Assert.Equal(2.5, reply.Result.GetProperty("seconds").GetDouble());
            Assert.True(rig.Door.IsUnlocked);
            Assert.Equal([EventKind.RemoteOpen], kindsAtUnlock);
            var e = Assert.Single(_rig.Events.Latest(10)).Event;
            Assert.Contains("door-2", e.Detail);
            rig.Advance(TimeSpan.FromSeconds(2.6));
            Assert.False(rig.Door.IsUnlocked);
        }
    }

    [Fact]
    public void Signatures_freshness_and_the_missing_key_are_checked_before_anything_runs()
    {
        var log = new CapturingLogger<CommandsProcessorTests>();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero));
        using var processor = _rig.Processor(logger: log, time: clock);
        var enroll = CommandRig.Command("enroll", "sig-1", clock.GetUtcNow());
        enroll["name"] = "Angelina";
        enroll["images"] = CommandRig.Photos("img1.jpg");
        string body = enroll.ToJsonString();

        var unsigned = ParsedReply.From(processor.Process(Encoding.UTF8.GetBytes(body)));
        Assert.Equal(("signature_required", "sig-1"), (unsigned.Code, unsigned.RequestId));

        // Signed with another key; and a body changed by one character after signing.
        using (var otherKey = NewKey(out string otherFile))
            Assert.Equal("bad_signature", ParsedReply.From(processor.Process(otherKey.Envelope(Encoding.UTF8.GetBytes(body)))).Code);
        string envelope = Encoding.UTF8.GetString(_rig.Signed(body));
        var tampered = ParsedReply.From(processor.Process(Encoding.UTF8.GetBytes(envelope.Replace("Angelina", "Angelino"))));
        Assert.Equal(("bad_signature", "sig-1"), (tampered.Code, tampered.RequestId));

        // Fresh until Mqtt:CommandMaxAge, then stale; a minute of clock skew ahead is tolerated, more is not.
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        var stale = ParsedReply.From(processor.Process(_rig.Signed(body)));
        Assert.Equal("stale", stale.Code);
        Assert.Contains("Mqtt:CommandMaxAge", stale.Message);
        var future = CommandRig.Command("get-person", "sig-2", clock.GetUtcNow() + TimeSpan.FromSeconds(61));
        future["person_id"] = Guid.NewGuid().ToString();
        Assert.Equal("stale", ParsedReply.From(processor.Process(_rig.Signed(future))).Code);
        future["request_id"] = "sig-3";
        future["issued_utc"] = (clock.GetUtcNow() + TimeSpan.FromSeconds(50)).UtcDateTime.ToString("O");
        Assert.Equal("unknown_person", ParsedReply.From(processor.Process(_rig.Signed(future))).Code);

        Assert.Equal(0, _rig.People);
        // One warning per minute (of the kiosk's clock, advanced 5 minutes above) for refusals of a kind; the rest at Debug level.
        Assert.Equal(2, log.Count(6046, LogLevel.Warning));
        Assert.Equal(3, log.Count(6048, LogLevel.Debug));
        string key = File.ReadAllText(_rig.KeyFile).Trim();
        Assert.DoesNotContain(key, log.AllText);
        Assert.DoesNotContain(CommandRig.Photo("img1.jpg")[..64], log.AllText);

        // Signatures off: plain commands run; an envelope is still checked.
        using var lax = _rig.Processor(_rig.Options(requireSigned: false));
        var get = CommandRig.Command("get-person", "lax-1");
        get["person_id"] = Guid.NewGuid().ToString();
        Assert.Equal("unknown_person", ParsedReply.From(lax.Process(Encoding.UTF8.GetBytes(get.ToJsonString()))).Code);
        Assert.Equal("bad_signature", ParsedReply.From(lax.Process(Encoding.UTF8.GetBytes(envelope.Replace("Angelina", "Angelino")))).Code);

        // Signatures required and no key: everything is refused, and the start says so.
        var startLog = new CapturingLogger<CommandsProcessorTests>();
        using var keyless = _rig.Processor(_rig.Options(withKey: false), logger: startLog);
        Assert.Equal(1, startLog.Count(6041, LogLevel.Warning));
        Assert.Equal("signature_required", ParsedReply.From(keyless.Process(_rig.Signed(get))).Code);
        Assert.Equal("signature_required", ParsedReply.From(keyless.Process(Encoding.UTF8.GetBytes(get.ToJsonString()))).Code);
    }

    [Fact]
    public void A_retained_command_is_refused_so_a_reconnect_cannot_run_it_again()
    {
        using var processor = _rig.Processor(_rig.Options(allowOpenDoor: true));
        var reply = ParsedReply.From(processor.Process(_rig.Signed(CommandRig.Command("open-door", "retained-1")), retained: true));
        Assert.Equal("bad_value", reply.Code);
        Assert.Contains("retain", reply.Message);
        Assert.Equal(0L, _rig.Events.Count);
    }

    private Kiosk.Host.Mqtt.Commands.CommandKey NewKey(out string file)
    {
        file = Path.Combine(_rig.GalleryDir.Root, $"other-{Guid.NewGuid():N}.key");
        Kiosk.Host.Mqtt.Commands.CommandKey.CreateFile(file);
        return Kiosk.Host.Mqtt.Commands.CommandKey.Load(file, "test");
    }

    /// <summary>A real JPEG (encoded by libturbojpeg) of a pattern with no face in it.</summary>
    internal static byte[] NoFaceJpeg() => Kiosk.Vision.Imaging.ImageEncoder.EncodeJpeg(Kiosk.Tests.Imaging.TestImages.Pattern(320, 240));
}
