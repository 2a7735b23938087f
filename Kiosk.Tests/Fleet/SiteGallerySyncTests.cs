using System.Text;
using System.Text.Json.Nodes;
using Kiosk.Host.Fleet;
using Kiosk.Host.Gallery;
using Kiosk.Host.Mqtt;
using Kiosk.Tests.Gallery;
using Kiosk.Tests.Mqtt;
using Microsoft.Extensions.Logging;
using static Kiosk.Tests.Fleet.FleetTest;

namespace Kiosk.Tests.Fleet;

/// <summary>Kiosks of one site keeping the same gallery through a real mosquitto: each test has its own broker.</summary>
[Collection(MqttCollection.Name)]
public sealed class SiteGallerySyncTests : IDisposable
{
    private readonly MosquittoBroker _broker = new();
    private readonly string _site = Site();
    private readonly byte[] _key = G.NewKey();

    public void Dispose() => _broker.Dispose();

    private FleetKiosk Kiosk(string name, FleetOptions? options = null) => new(_broker, _site, name, _key, options);

    [Fact]
    public async Task A_person_enrolled_on_one_kiosk_appears_on_another_with_identical_fields_and_templates()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();

        var ada = a.Change(s => s.Enroll(new PersonDraft("Ada", "E-1", ["night", "staff"], DateTimeOffset.UnixEpoch, null, Enabled: false),
            [G.Template(1, crop: G.Crop(1)), G.Template(2, 0.9f), G.Template(3, 0.7f, "mobileface", "sha256:2222", dim: 64)]));

        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada on kiosk B");
        Assert.Equal(a.State(ada.Uid), b.State(ada.Uid));
        var copy = b.Store.FindByUid(ada.Uid)!;
        Assert.Equal(("Ada", "E-1", false, ada.CreatedUtc), (copy.Name, copy.ExternalId, copy.Enabled, copy.CreatedUtc));
        Assert.Equal(3, b.Store.TemplatesOf(copy.Id).Count);
        await Eventually(() => a.Store.PendingSitePublications().Count == 0, "A's change marked published");
        Assert.Empty(b.Store.PendingSitePublications()); // B does not echo what it received
        Assert.True(b.Refreshes > 0);
        Assert.Equal(1, a.Sync.Status.Published);
        Assert.Equal(1, b.Sync.Status.Applied);
        Assert.NotNull(b.Sync.Status.LastAppliedUtc);
        Assert.Equal(0, a.Sync.Status.Refused + b.Sync.Status.Refused);
        Assert.Equal(a.Sync.Status.KeyFingerprint, b.Sync.Status.KeyFingerprint);
        Assert.DoesNotContain("Ada", a.Log.AllText + b.Log.AllText); // people are named by uid in the logs
    }

    [Fact]
    public async Task Updates_on_one_kiosk_raise_the_revision_on_the_other()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada"), Templates(1)));
        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada on B");

        a.Change(s => s.UpdatePerson(ada.Id, new PersonDraft("Ada Lovelace", "E-9", ["day"])));
        await Eventually(() => b.Store.FindByUid(ada.Uid)?.SiteRevision == 2, "revision 2 on B");
        Assert.Equal("Ada Lovelace", b.Store.FindByUid(ada.Uid)!.Name);

        a.Change(s => s.AddTemplates(ada.Id, [G.Template(77, 0.99f)]));
        await Eventually(() => b.Store.FindByUid(ada.Uid)?.SiteRevision == 3, "revision 3 on B");
        Assert.Contains(b.Store.TemplatesOf(b.Store.FindByUid(ada.Uid)!.Id), t => t.Vector.SequenceEqual(G.Vector(77)));
        Assert.Equal(a.State(ada.Uid), b.State(ada.Uid));

        // And the other way round: B's change reaches A.
        b.Change(s => s.UpdatePerson(s.FindByUid(ada.Uid)!.Id, new PersonDraft("Ada (B)")));
        await Eventually(() => a.Store.FindByUid(ada.Uid)?.Name == "Ada (B)", "B's change on A");
        Assert.Equal(4, a.Store.FindByUid(ada.Uid)!.SiteRevision);
    }

    [Fact]
    public async Task A_change_made_by_another_process_is_published_by_the_poll_without_a_signal()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();

        var ada = a.Store.Enroll(Draft("Ada"), Templates(1)); // no NotifyLocalChange: the CLI beside the service

        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada on B by the poll");
    }

    [Fact]
    public async Task A_deletion_removes_the_person_everywhere_and_a_replayed_older_record_does_not_bring_them_back()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada"), Templates(1)));
        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada on B");
        string topic = a.Topics.Gallery(ada.Uid);
        byte[] old = (await RetainedAsync(_broker, topic))!;

        a.Change(s => s.RemovePerson(ada.Id));
        await Eventually(() => b.Store.FindByUid(ada.Uid) is null, "Ada gone from B");
        Assert.True(b.Store.SiteRecordOf(ada.Uid)!.Deleted);
        Assert.Empty(b.Store.LoadTemplates(G.Model, G.Hash));

        // Someone with broker access replays Ada's old, genuine record: it is older than the tombstone.
        await using (var replay = await ClientAsync(_broker, "replay"))
            await replay.PublishAsync(topic, old, qos: 1, retain: true).WaitAsync(MqttTest.Timeout);

        await Eventually(() => a.Sync.Status.Stale >= 1 && b.Sync.Status.Stale >= 1, "the replay seen as stale");
        // The kiosks put the tombstone back over the replayed copy, so a kiosk starting later is not misled either.
        await EventuallyAsync(async () => (await RetainedJsonAsync(topic))?["deleted"]?.GetValue<bool>() == true, "the tombstone retained again");
        Assert.Null(a.Store.FindByUid(ada.Uid));
        Assert.Null(b.Store.FindByUid(ada.Uid));
        await using var c = Kiosk("kiosk-c");
        await c.StartAsync();
        await Eventually(() => c.Store.SiteRecordOf(ada.Uid)?.Deleted == true, "the tombstone on a new kiosk");
        Assert.Empty(c.Store.ListPeople());
    }

    [Fact]
    public async Task A_kiosk_that_was_offline_converges_from_the_retained_records_when_it_starts()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada", "E-1"), Templates(1)));
        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada on B");

        await b.StopAsync();
        var bob = a.Change(s => s.Enroll(Draft("Bob", "E-2"), Templates(2)));
        var eve = a.Change(s => s.Enroll(Draft("Eve"), Templates(3)));
        a.Change(s => s.UpdatePerson(ada.Id, Draft("Ada v2", "E-1")));
        a.Change(s => s.RemovePerson(eve.Id));
        await Eventually(() => a.Store.PendingSitePublications().Count == 0, "A published everything");

        await b.StartAsync();

        await Eventually(() => b.Store.FindByUid(bob.Uid) is not null && b.Store.FindByUid(ada.Uid)?.Name == "Ada v2"
            && b.Store.SiteRecordOf(eve.Uid)?.Deleted == true, "B caught up");
        Assert.Equal(new[] { ada.Uid, bob.Uid }.Order(), b.Store.ListPeople().Select(p => p.Uid).Order());
        foreach (string uid in new[] { ada.Uid, bob.Uid, eve.Uid }) Assert.Equal(a.State(uid), b.State(uid));
        Assert.Empty(b.Store.PendingSitePublications());
    }

    [Fact]
    public async Task A_change_made_offline_goes_out_on_return_and_loses_to_a_higher_revision_from_the_site()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada"), Templates(1)));
        var bob = a.Change(s => s.Enroll(Draft("Bob"), Templates(2)));
        await Eventually(() => b.Store.ListPeople().Count == 2, "both on B");

        await b.StopAsync();
        long bAda = b.Store.FindByUid(ada.Uid)!.Id, bBob = b.Store.FindByUid(bob.Uid)!.Id;
        b.Change(s => s.UpdatePerson(bAda, Draft("Ada as B saw her")));                 // revision 2
        b.Change(s => s.UpdatePerson(bBob, Draft("Bob as B saw him")));                  // revision 2
        a.Change(s => s.UpdatePerson(ada.Id, Draft("Ada, once")));                       // revision 2
        a.Change(s => s.UpdatePerson(ada.Id, Draft("Ada, twice")));                      // revision 3: beats B's
        await Eventually(() => a.Store.PendingSitePublications().Count == 0, "A published");

        await b.StartAsync();

        await Eventually(() => a.Store.FindByUid(bob.Uid)?.Name == "Bob as B saw him", "B's offline change on A");
        await Eventually(() => b.Store.FindByUid(ada.Uid)?.Name == "Ada, twice", "A's newer change on B");
        await Eventually(() => a.State(ada.Uid) == b.State(ada.Uid) && a.State(bob.Uid) == b.State(bob.Uid), "the same state");
        Assert.Equal("Ada, twice", a.Store.FindByUid(ada.Uid)!.Name);
    }

    [Fact]
    public async Task Concurrent_conflicting_changes_of_one_revision_converge_to_the_same_winner_everywhere()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada"), Templates(1)));
        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada on B");
        await a.StopAsync();
        await b.StopAsync();

        a.Change(s => s.UpdatePerson(ada.Id, Draft("Ada by A")));
        b.Change(s => s.UpdatePerson(s.FindByUid(ada.Uid)!.Id, Draft("Ada by B")));
        var fromA = a.Store.SiteRecordOf(ada.Uid)!;
        var fromB = b.Store.SiteRecordOf(ada.Uid)!;
        Assert.Equal(fromA.Revision, fromB.Revision);
        var winner = SiteRecordJson.Digest(fromA).AsSpan().SequenceCompareTo(SiteRecordJson.Digest(fromB)) > 0 ? fromA : fromB;

        await a.StartAsync();
        await b.StartAsync();

        await Eventually(() => a.State(ada.Uid) == Canonical(winner) && b.State(ada.Uid) == Canonical(winner), "both on the winner");
        await Eventually(() => a.Store.PendingSitePublications().Count == 0 && b.Store.PendingSitePublications().Count == 0, "nothing pending");
        // The broker's copy is the winner too: a kiosk starting now gets it.
        await using var c = Kiosk("kiosk-c");
        await c.StartAsync();
        await Eventually(() => c.State(ada.Uid) == Canonical(winner), "the winner on a new kiosk");
    }

    [Fact]
    public async Task A_change_made_while_the_broker_is_down_is_published_when_it_returns_and_what_the_broker_lost_is_published_again()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada"), Templates(1)));
        var bob = a.Change(s => s.Enroll(Draft("Bob"), Templates(2)));
        await Eventually(() => b.Store.ListPeople().Count == 2, "both on B");

        _broker.Stop(); // the test broker keeps nothing: it comes back without the retained records
        await Eventually(() => !a.Client.IsConnected && !b.Client.IsConnected, "both disconnected");
        var changed = b.Change(s => s.UpdatePerson(s.FindByUid(ada.Uid)!.Id, Draft("Ada, changed during the outage")));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Single(b.Store.PendingSitePublications());
        _broker.Start();

        await Eventually(() => a.Store.FindByUid(ada.Uid)?.Name == "Ada, changed during the outage", "B's change on A");
        Assert.Equal(changed.SiteRevision, a.Store.FindByUid(ada.Uid)!.SiteRevision);
        // Bob's record was lost with the broker's retained store; the kiosks notice and publish it again.
        await EventuallyAsync(async () => await RetainedJsonAsync(a.Topics.Gallery(bob.Uid)) is not null, "Bob retained again");
        await using var c = Kiosk("kiosk-c");
        await c.StartAsync();
        await Eventually(() => c.Store.ListPeople().Count == 2, "a kiosk starting after the outage gets everyone");
        Assert.Equal(a.State(bob.Uid), c.State(bob.Uid));
        Assert.Equal(a.State(ada.Uid), c.State(ada.Uid));
        Assert.True(a.Log.Count(6117) + b.Log.Count(6117) >= 1, a.Log.AllText + b.Log.AllText);
    }

    public static TheoryData<string, SiteMessageRefusal> Forgeries => new()
    {
        { "encrypted with another site's key", SiteMessageRefusal.DoesNotDecrypt },
        { "one ciphertext byte changed", SiteMessageRefusal.DoesNotDecrypt },
        { "revision raised in the clear envelope", SiteMessageRefusal.DoesNotDecrypt },
        { "deleted flag set in the clear envelope", SiteMessageRefusal.DoesNotDecrypt },
        { "moved to another person's topic", SiteMessageRefusal.UidMismatch },
        { "moved with its uid edited to match", SiteMessageRefusal.DoesNotDecrypt },
        { "garbage", SiteMessageRefusal.BadEnvelope },
        { "JSON of another shape", SiteMessageRefusal.BadEnvelope },
        { "a newer schema", SiteMessageRefusal.WrongSchema },
        { "larger than Fleet:MaxPayloadBytes", SiteMessageRefusal.TooLarge },
        { "genuine but invalid content", SiteMessageRefusal.BadRecord },
    };

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task A_message_that_does_not_open_is_refused_logged_without_its_payload_and_changes_nothing(string forgery, SiteMessageRefusal reason)
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada"), Templates(1)));
        var bob = a.Change(s => s.Enroll(Draft("Bob"), Templates(2)));
        await Eventually(() => b.Store.ListPeople().Count == 2, "both on B");
        string before = b.State(ada.Uid) + b.State(bob.Uid);
        long revision = b.Store.Revision;

        // What the forger would like: Ada renamed and re-faced at a high revision.
        var wanted = a.Store.SiteRecordOf(ada.Uid)! with { Revision = 50 };
        wanted = wanted with { Person = wanted.Person! with { Name = "Mallory", Templates = [new SiteTemplate(G.Model, G.Hash, G.Vector(666), 1, "forged", DateTimeOffset.UtcNow)] } };
        var mallory = new KioskTopics(_site, "mallory");
        using var siteKey = SiteKey.FromBytes(_key);
        using var otherKey = SiteKey.FromBytes(G.NewKey());
        var genuine = new SiteGalleryCodec(siteKey, mallory, FleetOptions.MaxPayloadLimit);
        string topic = mallory.Gallery(ada.Uid);
        byte[] bobs = (await RetainedAsync(_broker, mallory.Gallery(bob.Uid)))!;
        byte[] payload = forgery switch
        {
            "encrypted with another site's key" => new SiteGalleryCodec(otherKey, mallory, FleetOptions.MaxPayloadLimit).Seal(wanted),
            "one ciphertext byte changed" => Edit(genuine.Seal(wanted), e =>
            {
                byte[] c = Convert.FromBase64String(e["ciphertext"]!.GetValue<string>());
                c[c.Length / 2] ^= 1;
                e["ciphertext"] = Convert.ToBase64String(c);
            }),
            "revision raised in the clear envelope" => Edit(genuine.Seal(a.Store.SiteRecordOf(ada.Uid)!), e => e["revision"] = 50),
            "deleted flag set in the clear envelope" => Edit(genuine.Seal(a.Store.SiteRecordOf(ada.Uid)!), e => e["deleted"] = true),
            "moved to another person's topic" => bobs,
            "moved with its uid edited to match" => Edit(bobs, e => e["uid"] = ada.Uid),
            "garbage" => "\u0001\u0002 not json {"u8.ToArray(),
            "JSON of another shape" => """{"name":"Mallory","revision":50}"""u8.ToArray(),
            "a newer schema" => Edit(genuine.Seal(wanted), e => e["schema"] = "kiosk-gallery/2"),
            "larger than Fleet:MaxPayloadBytes" => new byte[new FleetOptions().MaxPayloadBytes + 1],
            "genuine but invalid content" => genuine.Seal(wanted with { Person = wanted.Person! with { Name = "  Mallory" } }),
            _ => throw new ArgumentOutOfRangeException(nameof(forgery)),
        };

        await using (var forger = await ClientAsync(_broker, "forger"))
            await forger.PublishAsync(topic, payload, qos: 1, retain: true).WaitAsync(MqttTest.Timeout);

        await Eventually(() => b.Sync.Status.Refused >= 1, "B refused it");
        Assert.Equal(1, b.Sync.Status.Refused);
        Assert.Equal(2, b.Sync.Status.Applied);
        Assert.Equal(before, b.State(ada.Uid) + b.State(bob.Uid));
        Assert.Equal(revision, b.Store.Revision);
        Assert.Empty(b.Store.PendingSitePublications());
        var warning = Assert.Single(b.Log.Entries, e => e.Id == 6104);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains($"({reason})", warning.Text);
        Assert.Contains(topic, warning.Text);
        string text = Encoding.UTF8.GetString(payload);
        if (text.Length > 64 && !text.Contains('\0')) Assert.DoesNotContain(text.Substring(text.Length / 2, 16), b.Log.AllText);
        Assert.DoesNotContain("Mallory", b.Log.AllText);
    }

    private static byte[] Edit(byte[] payload, Action<JsonObject> edit)
    {
        var envelope = JsonNode.Parse(payload)!.AsObject();
        edit(envelope);
        return Encoding.UTF8.GetBytes(envelope.ToJsonString());
    }

    private async Task<JsonObject?> RetainedJsonAsync(string topic) =>
        await RetainedAsync(_broker, topic) is { Length: > 0 } payload ? JsonNode.Parse(payload)!.AsObject() : null;

    [Fact]
    public async Task Repeated_refusals_are_one_warning_and_the_rest_at_debug_level()
    {
        await using var b = Kiosk("kiosk-b");
        await b.StartAsync();
        await using var forger = await ClientAsync(_broker, "forger");
        for (int i = 0; i < 5; i++)
            await forger.PublishAsync(b.Topics.Gallery(GalleryStore.NewUid()), "junk"u8.ToArray(), qos: 1, retain: false).WaitAsync(MqttTest.Timeout);

        await Eventually(() => b.Sync.Status.Refused == 5, "five refusals");
        Assert.Equal(1, b.Log.Count(6104, LogLevel.Warning));
        Assert.Equal(4, b.Log.Count(6105, LogLevel.Debug));
    }

    [Fact]
    public async Task A_cleared_retained_topic_is_ignored()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await a.StartAsync();
        await b.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada"), Templates(1)));
        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada on B");

        await using (var admin = await ClientAsync(_broker, "admin"))
            await admin.PublishAsync(a.Topics.Gallery(ada.Uid), Array.Empty<byte>(), qos: 1, retain: true).WaitAsync(MqttTest.Timeout);

        await Eventually(() => b.Log.Count(6106, LogLevel.Debug) == 1, "the empty message seen");
        Assert.NotNull(b.Store.FindByUid(ada.Uid));
        Assert.Equal(0, b.Sync.Status.Refused);
    }

    [Fact]
    public async Task A_record_whose_external_id_is_someone_else_s_here_is_a_conflict_applied_once_that_is_resolved()
    {
        await using var a = Kiosk("kiosk-a");
        await using var b = Kiosk("kiosk-b");
        await b.StartAsync();
        var bob = b.Store.Enroll(Draft("Bob", "E-1"), Templates(2)); // before A's Ada, with the same badge, and B offline
        b.Store.MarkSitePublished(bob.Uid, 1);                         // (as if published long ago and the broker lost it)
        await a.StartAsync();
        var ada = a.Change(s => s.Enroll(Draft("Ada", "E-1"), Templates(1)));

        await Eventually(() => b.Sync.Status.Conflicts == 1, "the conflict seen");
        var warning = Assert.Single(b.Log.Entries, e => e.Id == 6107);
        Assert.Contains(ada.Uid, warning.Text);
        Assert.Contains(bob.Uid, warning.Text);
        Assert.Null(b.Store.FindByUid(ada.Uid));

        b.Change(s => s.RemovePerson(bob.Id)); // someone resolves it on B
        await Eventually(() => b.Store.FindByUid(ada.Uid) is not null, "Ada applied on B after the retry");
        Assert.Equal(1, b.Sync.Status.Conflicts); // reported once, not at every retry
    }
}
