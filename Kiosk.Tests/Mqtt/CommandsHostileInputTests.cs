using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Kiosk.Host.Mqtt;
using Kiosk.Host.Mqtt.Commands;
using Kiosk.Tests.Imaging;
using Microsoft.Extensions.Logging;

namespace Kiosk.Tests.Mqtt;

/// <summary>
/// The acceptance test of remote commands: malformed and hostile messages sent through a real mosquitto broker to a
/// running <see cref="CommandListener"/> on the real models. Each gets its error code, the gallery stays as it was,
/// and the listener goes on answering.
/// </summary>
[Collection(MqttCollection.Name)]
public sealed class CommandsHostileInputTests(MosquittoBroker broker) : IClassFixture<MosquittoBroker>, IDisposable
{
    private readonly CommandRig _rig = new(site: "s" + Guid.NewGuid().ToString("N")[..8]);
    private int _probes;

    public void Dispose() => _rig.Dispose();

    private sealed record Case(string Name, byte[] Payload, string Code, string? RequestId, string? ReplyTopic = null, string? Says = null);

    [Fact]
    public async Task Forty_malformed_or_hostile_commands_each_get_their_error_code_the_gallery_stays_intact_and_the_listener_goes_on()
    {
        var log = new CapturingLogger<CommandListener>();
        string id = Guid.NewGuid().ToString("N")[..8];
        await using var kiosk = new MqttClient(MqttTest.Options(broker, "kiosk-" + id));
        await using var integrator = new MqttClient(MqttTest.Options(broker, "integrator-" + id));
        using var listener = new CommandListener(kiosk, _rig.Topics, _rig.Gallery, door: null, _rig.Events, _rig.Options(), log);
        using var stop = new CancellationTokenSource();
        kiosk.Start();
        integrator.Start();
        var running = listener.RunAsync(stop.Token);
        await integrator.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        string replyTopic = $"integrator/{_rig.Topics.Site}/replies";
        await integrator.SubscribeAsync(_rig.Topics.Replies, 1).WaitAsync(MqttTest.Timeout);
        await integrator.SubscribeAsync(replyTopic, 1).WaitAsync(MqttTest.Timeout);
        await WaitUntilListeningAsync(integrator);

        // A person to protect, enrolled the normal way.
        var angelina = CommandRig.Command("enroll", "good-1");
        angelina["name"] = "Angelina";
        angelina["external_id"] = "A-1";
        angelina["reply_to"] = replyTopic;
        angelina["images"] = CommandRig.Photos("img1.jpg");
        var enrolled = await AskAsync(integrator, _rig.Signed(angelina), "good-1");
        Assert.True(enrolled.Ok, enrolled.ToString());
        Assert.Equal(replyTopic, enrolled.Topic);
        string angelinaUid = enrolled.Person.GetProperty("person_id").GetString()!;
        int people = _rig.People;
        long revision = _rig.Revision;

        var cases = HostileCases(angelina);
        Assert.True(cases.Count >= 40, $"{cases.Count} cases");
        foreach (var c in cases)
        {
            var reply = await AskAsync(integrator, c.Payload, c.RequestId);
            Assert.True(c.Code == reply.Code, $"{c.Name}: expected {c.Code}, got {reply}" + (reply.Code == CommandErrors.Internal ? "\n" + log.AllText : ""));
            Assert.True(c.RequestId == reply.RequestId, $"{c.Name}: expected request id {c.RequestId ?? "null"}, got {reply}");
            Assert.Equal(c.ReplyTopic ?? _rig.Topics.Replies, reply.Topic);
            Assert.False(reply.Ok);
            Assert.False(string.IsNullOrWhiteSpace(reply.Message), c.Name);
            if (c.Says is not null) Assert.True(reply.Message.Contains(c.Says, StringComparison.Ordinal), $"{c.Name}: expected '{c.Says}' in {reply}");
            Assert.False(running.IsCompleted, $"the listener stopped after {c.Name}");
        }
        Assert.Equal(people, _rig.People);
        Assert.Equal(revision, _rig.Revision);
        Assert.Equal(0L, _rig.Events.Count);

        // SQL in a name is a name: parameters, never text spliced into SQL. A real face, so it may enroll (it does).
        var sql = CommandRig.Command("enroll", "sql-name");
        sql["name"] = "'; DROP TABLE people; --";
        sql["external_id"] = "1' OR '1'='1";
        sql["images"] = CommandRig.Photos("img38.jpg");
        var sqlReply = await AskAsync(integrator, _rig.Signed(sql), "sql-name");
        Assert.True(sqlReply.Ok, sqlReply.ToString());
        var literal = _rig.Gallery.Store.FindByUid(sqlReply.Person.GetProperty("person_id").GetString()!)!;
        Assert.Equal(("'; DROP TABLE people; --", "1' OR '1'='1"), (literal.Name, literal.ExternalId));
        Assert.Equal(people + 1, _rig.People);
        Assert.Equal("Angelina", _rig.Gallery.Store.FindByUid(angelinaUid)!.Name);

        // And the listener still does its work.
        var get = CommandRig.Command("get-person", "good-2");
        get["person_id"] = angelinaUid;
        var got = await AskAsync(integrator, _rig.Signed(get), "good-2");
        Assert.True(got.Ok, got.ToString());
        Assert.Equal("A-1", got.Person.GetProperty("external_id").GetString());

        // Refusals were logged without flooding, and nothing secret or biometric reached the log.
        // (one warning per kind per minute: two if this machine took over a minute between the first and the last)
        Assert.InRange(log.Count(6046, LogLevel.Warning), 1, 2);
        Assert.InRange(log.Count(6047, LogLevel.Warning), 1, 2);
        Assert.True(log.Count(6048, LogLevel.Debug) >= 25, log.AllText);
        Assert.DoesNotContain(File.ReadAllText(_rig.KeyFile).Trim(), log.AllText);
        Assert.DoesNotContain(CommandRig.Photo("img1.jpg")[100..164], log.AllText);
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Information && e.Text.Contains("DROP TABLE", StringComparison.Ordinal));
        Assert.Equal(0, log.Count(6049) + log.Count(6053)); // no 'internal', no listener failure

        await stop.CancelAsync();
        await running.WaitAsync(MqttTest.Timeout);
    }

    [Fact]
    public async Task A_message_over_MaxIncomingBytes_arrives_as_its_first_64_KiB_with_its_length()
    {
        string topic = MqttTest.Topic("oversize");
        string id = Guid.NewGuid().ToString("N")[..8];
        var options = MqttTest.Options(broker, "small-" + id);
        options = new MqttOptions
        {
            Host = options.Host, Port = options.Port, ClientId = options.ClientId, Username = options.Username, Password = options.Password,
            MaxIncomingBytes = 100_000,
        };
        await using var receiver = new MqttClient(options);
        await using var sender = new MqttClient(MqttTest.Options(broker, "big-" + id));
        receiver.Start();
        sender.Start();
        await receiver.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);
        await receiver.SubscribeAsync(topic, 1).WaitAsync(MqttTest.Timeout);
        await sender.WaitConnectedAsync().WaitAsync(MqttTest.Timeout);

        byte[] big = RandomNumberGenerator.GetBytes(3_000_000);
        byte[] small = RandomNumberGenerator.GetBytes(100_000);
        await sender.PublishAsync(topic, big, 1).WaitAsync(MqttTest.Timeout);
        await sender.PublishAsync(topic, small, 1).WaitAsync(MqttTest.Timeout);

        var first = await MqttTest.NextMessageAsync(receiver);
        Assert.True(first.Truncated);
        Assert.Equal(3_000_000, first.Length);
        Assert.Equal(big.AsSpan(0, MqttMessage.TruncatedHeadBytes).ToArray(), first.Payload);
        var second = await MqttTest.NextMessageAsync(receiver);
        Assert.False(second.Truncated);
        Assert.Equal(small, second.Payload); // at the limit: whole
    }

    /// <summary>Probes until the listener answers (its subscription is not observable otherwise); probe replies are skipped later.</summary>
    private async Task WaitUntilListeningAsync(MqttClient integrator)
    {
        var deadline = DateTime.UtcNow + MqttTest.Timeout;
        while (true)
        {
            var probe = CommandRig.Command("get-person", $"probe-{++_probes}");
            probe["person_id"] = Guid.NewGuid().ToString();
            await integrator.PublishAsync(_rig.Topics.Commands, _rig.Signed(probe), 1).WaitAsync(MqttTest.Timeout);
            using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            try
            {
                await integrator.Messages.WaitToReadAsync(wait.Token);
                return;
            }
            catch (OperationCanceledException) when (DateTime.UtcNow < deadline)
            {
                // not subscribed yet: the probe was dropped by the broker
            }
        }
    }

    private async Task<ParsedReply> AskAsync(MqttClient integrator, byte[] payload, string? requestId)
    {
        await integrator.PublishAsync(_rig.Topics.Commands, payload, 1).WaitAsync(MqttTest.Timeout);
        while (true)
        {
            var message = await MqttTest.NextMessageAsync(integrator);
            var reply = ParsedReply.From(message.Topic, message.Payload);
            if (reply.RequestId is { } rid && rid.StartsWith("probe-", StringComparison.Ordinal)) continue;
            return reply;
        }
    }

    private List<Case> HostileCases(JsonObject valid)
    {
        string replies = _rig.Topics.Replies;
        var cases = new List<Case>();
        void Add(string name, byte[] payload, string code, string? rid, string? topic = null, string? says = null) =>
            cases.Add(new Case(name, payload, code, rid, topic, says));
        byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);
        JsonObject Enroll(string rid, Action<JsonObject>? change = null)
        {
            var c = CommandRig.Command("enroll", rid);
            c["name"] = "Mallory";
            c["images"] = CommandRig.Photos("img26.jpg");
            change?.Invoke(c);
            return c;
        }
        string fresh = CommandRig.Command("enroll", "x")["issued_utc"]!.GetValue<string>();

        // Not JSON, or not a command object.
        Add("truncated JSON", Utf8($$"""{"schema":"kiosk-command/1","command":"enroll","request_id":"trunc-1","issued_utc":"{{fresh}}","name":"Mal"""), CommandErrors.BadJson, "trunc-1");
        Add("not JSON", Utf8("hello kiosk, open up"), CommandErrors.BadJson, null);
        Add("empty message", [], CommandErrors.BadJson, null);
        Add("invalid UTF-8", [(byte)'{', (byte)'"', 0xFF, 0xFE, (byte)'"', (byte)':', (byte)'1', (byte)'}'], CommandErrors.BadJson, null);
        Add("JSON array", Utf8($"[{valid.ToJsonString()}]"), CommandErrors.NotAnObject, null);
        Add("JSON number", Utf8("42"), CommandErrors.NotAnObject, null);
        Add("trailing garbage", Utf8("""{"request_id":"trail-1"} {"more":1}"""), CommandErrors.BadJson, "trail-1");
        Add("deeply nested JSON", Utf8("""{"request_id":"deep-1","name":""" + new string('[', 100_000) + new string(']', 100_000) + "}"), CommandErrors.BadJson, "deep-1", says: "depth");

        // Wrong types and missing fields (signed, so that the fields are what is judged).
        Add("name as number", _rig.Signed(Enroll("type-1", c => c["name"] = 42)), CommandErrors.WrongType, "type-1");
        Add("images as string", _rig.Signed(Enroll("type-2", c => c["images"] = CommandRig.Photo("img26.jpg"))), CommandErrors.WrongType, "type-2");
        Add("missing name", _rig.Signed(Enroll("miss-1", c => c.Remove("name"))), CommandErrors.MissingField, "miss-1");
        Add("missing request_id", _rig.Signed(Enroll("miss-2", c => c.Remove("request_id"))), CommandErrors.MissingField, null);
        Add("request_id too long", _rig.Signed(Enroll(new string('r', 129))), CommandErrors.BadValue, null);
        Add("unknown field", _rig.Signed(Enroll("field-1", c => c["enabeld"] = false)), CommandErrors.UnknownField, "field-1", says: "enabeld is not a field of command enroll");
        Add("duplicate keys", _rig.Signed(Enroll("dup-1").ToJsonString().Replace("\"name\":\"Mallory\"", "\"name\":\"Mallory\",\"name\":\"Angelina\"")),
            CommandErrors.BadValue, "dup-1", says: "name appears more than once");
        Add("control characters in the name", _rig.Signed(Enroll("ctl-1", c => c["name"] = "Mal\u0007lory\u001b[2J")), CommandErrors.BadValue, "ctl-1", says: "name contains a control character");
        Add("lone surrogate escape in the name", _rig.Signed(Enroll("sur-1").ToJsonString().Replace("\"name\":\"Mallory\"", "\"name\":\"Mal\\ud800lory\"")),
            CommandErrors.BadValue, "sur-1", says: "name is not valid Unicode text");
        Add("overlong name", _rig.Signed(Enroll("long-1", c => c["name"] = new string('M', 201))), CommandErrors.BadValue, "long-1", says: "name is 201 characters long");

        // Size and image attacks.
        byte[] huge = new byte[50 * 1024 * 1024];
        Utf8($$"""{"schema":"kiosk-command/1","command":"enroll","request_id":"huge-1","reply_to":"{{replies}}","images":[""" + "\"").CopyTo(huge, 0);
        huge.AsSpan(200).Fill((byte)'A');
        Add("50 MB message", huge, CommandErrors.PayloadTooLarge, "huge-1", says: $"{50 * 1024 * 1024} bytes");
        Add("9 MB image", _rig.Signed(Enroll("img-1", c => c["images"] = new JsonArray(Convert.ToBase64String(RandomNumberGenerator.GetBytes(9 << 20))))),
            CommandErrors.ImageTooLarge, "img-1", says: "Mqtt:MaxImageBytes");
        Add("base64 that is not base64", _rig.Signed(Enroll("img-2", c => c["images"] = new JsonArray("this is *not* base64!"))), CommandErrors.BadValue, "img-2");
        Add("data: URL instead of base64", _rig.Signed(Enroll("img-3", c => c["images"] = new JsonArray("data:image/jpeg;base64," + CommandRig.Photo("img26.jpg")))),
            CommandErrors.BadValue, "img-3");
        Add("bytes that are no image", _rig.Signed(Enroll("img-4", c => c["images"] = new JsonArray(Convert.ToBase64String(Utf8("<?php system($_GET['c']); ?>"))))),
            CommandErrors.ImageUndecodable, "img-4");
        Add("PNG of absurd dimensions", _rig.Signed(Enroll("img-5", c => c["images"] = new JsonArray(Convert.ToBase64String(ForgedPng(100_000, 100_000))))),
            CommandErrors.ImageTooLarge, "img-5", says: "images[0]: PNG: dimensions 100000x100000 exceed the limit");
        Add("PNG bomb: 49 MP declared over a few bytes", _rig.Signed(Enroll("img-6", c => c["images"] = new JsonArray(Convert.ToBase64String(ForgedPng(7000, 7000))))),
            CommandErrors.ImageUndecodable, "img-6");
        Add("11 images", _rig.Signed(Enroll("img-7", c => c["images"] = new JsonArray([.. Enumerable.Range(0, 11).Select(_ => (JsonNode)"AAAA")]))),
            CommandErrors.BadValue, "img-7");

        // Commands and schemas that do not exist.
        Add("unknown command", _rig.Signed(Enroll("cmd-1", c => c["command"] = "format-disk")), CommandErrors.UnknownCommand, "cmd-1");
        Add("unsupported schema", _rig.Signed(Enroll("schema-1", c => c["schema"] = "kiosk-command/2")), CommandErrors.UnsupportedSchema, "schema-1");

        // Signatures and freshness.
        string tampered = Encoding.UTF8.GetString(_rig.Signed(Enroll("sig-1"))).Replace("Mallory", "Angelina");
        Add("bad signature (body changed after signing)", Utf8(tampered), CommandErrors.BadSignature, "sig-1");
        Add("missing signature (a plain command)", Utf8(Enroll("sig-2").ToJsonString()), CommandErrors.SignatureRequired, "sig-2");
        Add("empty signature", Utf8(new JsonObject { ["body"] = Enroll("sig-3").ToJsonString(), ["signature"] = "" }.ToJsonString()), CommandErrors.BadSignature, "sig-3");
        Add("body that is an object, not a string", Utf8(new JsonObject { ["body"] = Enroll("sig-4"), ["signature"] = "AAAA" }.ToJsonString()), CommandErrors.WrongType, null);
        Add("signed body that is not JSON", _rig.Signed("request_id: sig-5"), CommandErrors.BadJson, null);
        Add("stale issued_utc (a replay from 10 minutes ago)", _rig.Signed(Enroll("old-1", c => c["issued_utc"] = Iso(DateTimeOffset.UtcNow.AddMinutes(-10)))),
            CommandErrors.Stale, "old-1", says: "old");
        Add("issued_utc 5 minutes in the future", _rig.Signed(Enroll("old-2", c => c["issued_utc"] = Iso(DateTimeOffset.UtcNow.AddMinutes(5)))), CommandErrors.Stale, "old-2");
        Add("issued_utc without a zone", _rig.Signed(Enroll("old-3", c => c["issued_utc"] = "2026-11-02T08:00:00")), CommandErrors.BadValue, "old-3");

        // Where replies go.
        Add("reply_to with wildcards", _rig.Signed(Enroll("to-1", c => c["reply_to"] = "kiosk/+/#")), CommandErrors.BadValue, "to-1", replies, says: "wildcard");
        Add("reply_to a broker system topic", _rig.Signed(Enroll("to-2", c => c["reply_to"] = "$SYS/broker/x")), CommandErrors.BadValue, "to-2", replies);
        Add("reply_to the command topic itself", _rig.Signed(Enroll("to-3", c => c["reply_to"] = _rig.Topics.Commands)), CommandErrors.BadValue, "to-3", replies);

        // People and doors that are not there.
        var delete = CommandRig.Command("delete", "who-1");
        delete["person_id"] = Guid.NewGuid().ToString();
        Add("delete an unknown person", _rig.Signed(delete), CommandErrors.UnknownPerson, "who-1");
        var update = CommandRig.Command("update", "who-2");
        update["external_id"] = "nobody";
        update["name"] = "Renamed";
        Add("update an unknown person", _rig.Signed(update), CommandErrors.UnknownPerson, "who-2");
        var sqlGet = CommandRig.Command("get-person", "who-3");
        sqlGet["external_id"] = "A-1' OR '1'='1";
        Add("get-person with SQL in the external id", _rig.Signed(sqlGet), CommandErrors.UnknownPerson, "who-3");
        var badUid = CommandRig.Command("get-person", "who-4");
        badUid["person_id"] = "1 OR 1=1";
        Add("person_id that is not a UUID", _rig.Signed(badUid), CommandErrors.BadValue, "who-4");
        Add("open-door while disabled", _rig.Signed(CommandRig.Command("open-door", "door-1")), CommandErrors.DoorDisabled, "door-1");

        // A request id used for something else within the window.
        var reuse = (JsonObject)valid.DeepClone();
        reuse["name"] = "Not Angelina";
        Add("same request id, different command", _rig.Signed(reuse), CommandErrors.Conflict, "good-1", valid["reply_to"]!.GetValue<string>());
        return cases;
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A PNG whose header claims <paramref name="width"/> x <paramref name="height"/> over the data of a 4x4 picture.</summary>
    private static byte[] ForgedPng(int width, int height)
    {
        var writer = new PngWriter { Width = 4, Height = 4, BitDepth = 8, ColorType = 2, Sample = (x, y, c) => (x + y + c) * 20 };
        byte[] ihdr = writer.Ihdr();
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        return writer.Build(PngWriter.Compress(writer.FilteredScanlines()), ihdr);
    }
}
