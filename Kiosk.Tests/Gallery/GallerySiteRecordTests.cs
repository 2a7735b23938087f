using Kiosk.Host.Gallery;

namespace Kiosk.Tests.Gallery;

/// <summary>The store's side of the fleet gallery: what is pending, and how a site record is applied, on real SQLite files.</summary>
public sealed class GallerySiteRecordTests : IDisposable
{
    private readonly GalleryDir _a = new(), _b = new(), _c = new(), _d = new();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
        _c.Dispose();
        _d.Dispose();
    }

    private const string OtherModel = "mobileface";
    private const string OtherHash = "sha256:2222";
    private static readonly DateTimeOffset From = new(2025, 1, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Until = new(2027, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static Person EnrollAda(GalleryStore store, string? uid = null) =>
        store.Enroll(new PersonDraft("Ada", "E-1", ["night", "staff"], From, Until, Enabled: false),
            [G.Template(1, crop: G.Crop(1)), G.Template(2, 0.9f), G.Template(3, 0.7f, OtherModel, OtherHash, dim: 64)], uid);

    /// <summary>The canonical bytes of a record: what kiosks compare.</summary>
    private static string Canonical(SiteRecord? record) => record is null ? "(none)" : Convert.ToBase64String(SiteRecordJson.Serialize(record));

    [Fact]
    public void A_new_person_is_pending_with_every_template_of_every_model_until_marked_published()
    {
        using var store = _a.Open();
        var ada = EnrollAda(store);

        var record = Assert.Single(store.PendingSitePublications());
        Assert.Equal((ada.Uid, 1L, false), (record.Uid, record.Revision, record.Deleted));
        var p = record.Person!;
        Assert.Equal(("Ada", "E-1", From, Until, false, ada.CreatedUtc), (p.Name, p.ExternalId, p.ValidFrom, p.ValidUntil, p.Enabled, p.CreatedUtc));
        Assert.Equal(["night", "staff"], p.Groups);
        Assert.Equal(3, p.Templates.Count);
        Assert.Equal(G.Vector(3, 64), Assert.Single(p.Templates, t => t.ModelName == OtherModel).Vector);
        Assert.Equal([G.Vector(1), G.Vector(2)], p.Templates.Where(t => t.ModelName == G.Model).Select(t => t.Vector).ToArray());

        Assert.True(store.MarkSitePublished(ada.Uid, 1));
        Assert.Empty(store.PendingSitePublications());

        store.UpdatePerson(ada.Id, new PersonDraft("Ada L.", "E-1"));
        Assert.Equal(2, Assert.Single(store.PendingSitePublications()).Revision);
        Assert.False(store.MarkSitePublished(ada.Uid, 1)); // the PUBACK of an older revision does not cover the new one
        Assert.Single(store.PendingSitePublications());
        Assert.True(store.MarkSitePublished(ada.Uid, 2));
        store.AddTemplates(ada.Id, [G.Template(4)]);
        Assert.Equal(3, Assert.Single(store.PendingSitePublications()).Revision);
    }

    [Fact]
    public void A_removed_person_leaves_a_pending_tombstone_above_their_last_revision()
    {
        using var store = _a.Open();
        var ada = EnrollAda(store);
        store.MarkSitePublished(ada.Uid, 1);
        store.RemovePerson(ada.Id);

        var tombstone = Assert.Single(store.PendingSitePublications());
        Assert.Equal((ada.Uid, 2L, true, (SitePerson?)null), (tombstone.Uid, tombstone.Revision, tombstone.Deleted, tombstone.Person));
        Assert.True(store.MarkSitePublished(ada.Uid, 2));
        Assert.Empty(store.PendingSitePublications());
        Assert.Equal(2, store.SiteRecordOf(ada.Uid)!.Revision);
    }

    [Fact]
    public void A_record_applied_to_another_gallery_reproduces_the_person_exactly_and_is_not_echoed()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = EnrollAda(a);
        var record = Assert.Single(a.PendingSitePublications());
        long before = b.Revision;

        var result = b.ApplySiteRecord(record);

        Assert.Equal(SiteApplyOutcome.Applied, result.Outcome);
        Assert.True(b.Revision > before); // the service's RefreshIfChanged sees it
        Assert.Equal(Canonical(a.SiteRecordOf(ada.Uid)), Canonical(b.SiteRecordOf(ada.Uid)));
        var copy = b.FindByUid(ada.Uid)!;
        Assert.Equal(result.PersonId, copy.Id);
        Assert.Equal(("Ada", "E-1", false, ada.CreatedUtc, 1L), (copy.Name, copy.ExternalId, copy.Enabled, copy.CreatedUtc, copy.SiteRevision));
        Assert.Empty(b.PendingSitePublications()); // it came from the site: nothing to send back
        // Templates of a model this kiosk may not use are stored all the same.
        Assert.Equal(G.Vector(3, 64), Assert.Single(b.LoadTemplates(OtherModel, OtherHash)).Vector);
        Assert.Equal(2, b.LoadTemplates(G.Model, G.Hash).Count);
        Assert.Empty(b.LoadCrops()); // crops stay on the kiosk that took them
    }

    [Fact]
    public void A_higher_revision_replaces_fields_and_templates_keeping_the_rows_and_crops_of_unchanged_templates()
    {
        using var a = _a.Open();
        var ada = EnrollAda(a);
        var kept = a.TemplatesOf(ada.Id).Single(t => t.Vector.SequenceEqual(G.Vector(1)));
        var old = a.SiteRecordOf(ada.Uid)!;
        var newer = old with
        {
            Revision = 5,
            Person = old.Person! with
            {
                Name = "Ada Lovelace",
                ExternalId = null,
                Groups = ["day"],
                Enabled = true,
                Templates = [.. old.Person.Templates.Where(t => !t.Vector.SequenceEqual(G.Vector(2))),
                    new SiteTemplate(G.Model, G.Hash, G.Vector(9), 0.95f, "kiosk-b:photo", From)],
            },
        };

        Assert.Equal(SiteApplyOutcome.Applied, a.ApplySiteRecord(newer).Outcome);

        var now = a.FindByUid(ada.Uid)!;
        Assert.Equal((ada.Id, "Ada Lovelace", (string?)null, true, 5L), (now.Id, now.Name, now.ExternalId, now.Enabled, now.SiteRevision));
        Assert.Equal(["day"], now.Groups);
        var templates = a.TemplatesOf(ada.Id);
        Assert.Equal(3, templates.Count);
        Assert.Contains(templates, t => t.Id == kept.Id);
        Assert.DoesNotContain(templates, t => t.Vector.SequenceEqual(G.Vector(2)));
        Assert.Equal(From, Assert.Single(templates, t => t.Vector.SequenceEqual(G.Vector(9))).CreatedUtc);
        Assert.Equal(kept.Id, Assert.Single(a.LoadCrops()).TemplateId);
        Assert.Equal(Canonical(newer), Canonical(a.SiteRecordOf(ada.Uid)));
        Assert.Empty(a.PendingSitePublications());
    }

    [Fact]
    public void An_older_record_changes_nothing_and_sends_the_newer_local_state_out_again()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = EnrollAda(a);
        var first = a.SiteRecordOf(ada.Uid)!;
        a.UpdatePerson(ada.Id, new PersonDraft("Ada L."));
        var second = a.SiteRecordOf(ada.Uid)!;
        b.ApplySiteRecord(second);
        long revision = b.Revision;

        var stale = b.ApplySiteRecord(first);
        Assert.Equal(SiteApplyOutcome.Stale, stale.Outcome);
        Assert.Contains("revision 1", stale.Detail);
        Assert.Equal(revision, b.Revision);
        Assert.Equal("Ada L.", b.FindByUid(ada.Uid)!.Name);
        Assert.Equal(2, Assert.Single(b.PendingSitePublications()).Revision); // so the site's stale copy is replaced

        Assert.Equal(SiteApplyOutcome.Unchanged, b.ApplySiteRecord(second).Outcome);
        Assert.Empty(b.PendingSitePublications()); // the site holds exactly ours
        Assert.Equal(revision, b.Revision);
    }

    [Fact]
    public void A_tombstone_deletes_the_person_and_a_late_older_record_does_not_bring_them_back()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = EnrollAda(a);
        var live = a.SiteRecordOf(ada.Uid)!;
        b.ApplySiteRecord(live);
        a.RemovePerson(ada.Id);
        var tombstone = a.SiteRecordOf(ada.Uid)!;
        Assert.True(tombstone.Deleted);

        Assert.Equal(SiteApplyOutcome.Applied, b.ApplySiteRecord(tombstone).Outcome);
        Assert.Null(b.FindByUid(ada.Uid));
        Assert.Empty(b.LoadTemplates(G.Model, G.Hash));
        Assert.Empty(b.LoadTemplates(OtherModel, OtherHash));
        Assert.Empty(b.PendingSitePublications());
        using (var raw = _b.Raw(readOnly: true))
        {
            Assert.Equal(0L, G.Count(raw, "people"));
            Assert.Equal(0L, G.Count(raw, "templates"));
            Assert.Equal(2L, G.Scalar(raw, "SELECT site_revision FROM tombstones WHERE uid = $u", ("$u", ada.Uid)));
        }

        Assert.Equal(SiteApplyOutcome.Stale, b.ApplySiteRecord(live).Outcome);
        Assert.Null(b.FindByUid(ada.Uid));
        Assert.True(Assert.Single(b.PendingSitePublications()).Deleted); // the tombstone goes out again over the old copy

        // Enrolled again at the site, above the tombstone: back.
        Assert.Equal(SiteApplyOutcome.Applied, b.ApplySiteRecord(live with { Revision = 3 }).Outcome);
        Assert.NotNull(b.FindByUid(ada.Uid));
        Assert.Null(b.SiteRecordOf(ada.Uid)!.DeletedUtc);
    }

    [Fact]
    public void A_tombstone_of_someone_never_seen_is_kept_so_their_older_record_stays_out()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = EnrollAda(a);
        var live = a.SiteRecordOf(ada.Uid)!;
        a.RemovePerson(ada.Id);

        Assert.Equal(SiteApplyOutcome.Applied, b.ApplySiteRecord(a.SiteRecordOf(ada.Uid)!).Outcome);
        Assert.Equal(SiteApplyOutcome.Stale, b.ApplySiteRecord(live).Outcome);
        Assert.Empty(b.ListPeople());
    }

    [Fact]
    public void Concurrent_changes_of_one_revision_converge_on_the_same_winner_in_any_order()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        using var c = _c.Open();
        using var d = _d.Open();
        var ada = EnrollAda(a);
        b.ApplySiteRecord(a.SiteRecordOf(ada.Uid)!);
        a.UpdatePerson(ada.Id, new PersonDraft("Ada from A", "E-1"));
        b.UpdatePerson(b.FindByUid(ada.Uid)!.Id, new PersonDraft("Ada from B", "E-1", ["night"]));
        var fromA = Assert.Single(a.PendingSitePublications());
        var fromB = Assert.Single(b.PendingSitePublications());
        Assert.Equal(2, fromA.Revision);
        Assert.Equal(2, fromB.Revision);

        var onA = a.ApplySiteRecord(fromB).Outcome;
        var onB = b.ApplySiteRecord(fromA).Outcome;
        c.ApplySiteRecord(fromA);
        c.ApplySiteRecord(fromB);
        d.ApplySiteRecord(fromB);
        d.ApplySiteRecord(fromA);

        Assert.Equal([SiteApplyOutcome.Applied, SiteApplyOutcome.Stale], new[] { onA, onB }.Order());
        string winner = Canonical(a.SiteRecordOf(ada.Uid));
        Assert.Equal(winner, Canonical(b.SiteRecordOf(ada.Uid)));
        Assert.Equal(winner, Canonical(c.SiteRecordOf(ada.Uid)));
        Assert.Equal(winner, Canonical(d.SiteRecordOf(ada.Uid)));
        // The winner is the higher digest, whichever kiosk made it.
        var expected = SiteRecordJson.Digest(fromA).AsSpan().SequenceCompareTo(SiteRecordJson.Digest(fromB)) > 0 ? fromA : fromB;
        Assert.Equal(Canonical(expected), winner);
    }

    [Fact]
    public void A_deletion_beats_a_live_change_of_the_same_revision_in_either_order()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = EnrollAda(a);
        b.ApplySiteRecord(a.SiteRecordOf(ada.Uid)!);
        a.UpdatePerson(ada.Id, new PersonDraft("Ada, still here"));
        b.RemovePerson(b.FindByUid(ada.Uid)!.Id);
        var live = a.SiteRecordOf(ada.Uid)!;
        var deletion = b.SiteRecordOf(ada.Uid)!;
        Assert.Equal(live.Revision, deletion.Revision);

        Assert.Equal(SiteApplyOutcome.Applied, a.ApplySiteRecord(deletion).Outcome);
        Assert.Equal(SiteApplyOutcome.Stale, b.ApplySiteRecord(live).Outcome);
        Assert.Null(a.FindByUid(ada.Uid));
        Assert.Null(b.FindByUid(ada.Uid));
        Assert.Equal(SiteApplyOutcome.Unchanged, a.ApplySiteRecord(deletion).Outcome);
    }

    [Fact]
    public void An_external_id_held_here_by_another_person_refuses_the_record_naming_both()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = EnrollAda(a);
        var bob = b.Enroll(new PersonDraft("Bob", "E-1"), [G.Template(7)]);
        long revision = b.Revision;

        var result = b.ApplySiteRecord(a.SiteRecordOf(ada.Uid)!);

        Assert.Equal(SiteApplyOutcome.Conflict, result.Outcome);
        Assert.Contains(ada.Uid, result.Detail);
        Assert.Contains(bob.Uid, result.Detail);
        Assert.Contains("E-1", result.Detail);
        Assert.Equal(revision, b.Revision);
        Assert.Null(b.FindByUid(ada.Uid));
        Assert.Equal("Bob", b.FindByExternalId("E-1")!.Name);

        b.RemovePerson(bob.Id); // someone resolves it: the same record now applies
        Assert.Equal(SiteApplyOutcome.Applied, b.ApplySiteRecord(a.SiteRecordOf(ada.Uid)!).Outcome);
    }

    [Fact]
    public void A_vector_length_other_than_the_models_stored_one_is_a_conflict()
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = a.Enroll(new PersonDraft("Ada"), [G.Template(1, dim: 64)]);
        b.Enroll(new PersonDraft("Bob"), [G.Template(2, dim: 128)]);

        var result = b.ApplySiteRecord(a.SiteRecordOf(ada.Uid)!);

        Assert.Equal(SiteApplyOutcome.Conflict, result.Outcome);
        Assert.Contains("64", result.Detail);
        Assert.Single(b.ListPeople());
    }

    public static TheoryData<string> Invalid => ["uid in upper case", "revision 0", "untrimmed name", "unsorted groups", "not a unit vector",
        "deleted with a person", "live without a person", "two vector lengths of one model"];

    [Theory]
    [MemberData(nameof(Invalid))]
    public void An_invalid_or_non_canonical_record_is_refused_and_changes_nothing(string what)
    {
        using var a = _a.Open();
        using var b = _b.Open();
        var ada = EnrollAda(a);
        var r = a.SiteRecordOf(ada.Uid)!;
        var p = r.Person!;
        var bad = what switch
        {
            "uid in upper case" => r with { Uid = r.Uid.ToUpperInvariant() },
            "revision 0" => r with { Revision = 0 },
            "untrimmed name" => r with { Person = p with { Name = " Ada" } },
            "unsorted groups" => r with { Person = p with { Groups = ["staff", "night"] } },
            "not a unit vector" => r with { Person = p with { Templates = [.. p.Templates, new SiteTemplate(G.Model, G.Hash, new float[128], 1, "x", From)] } },
            "deleted with a person" => r with { Deleted = true },
            "live without a person" => r with { Person = null },
            "two vector lengths of one model" => r with { Person = p with { Templates = [.. p.Templates, new SiteTemplate(G.Model, G.Hash, G.Vector(5, 32), 1, "x", From)] } },
            _ => throw new ArgumentOutOfRangeException(nameof(what)),
        };
        long revision = b.Revision;

        Assert.Throws<ArgumentException>(() => b.ApplySiteRecord(bad));

        Assert.Equal(revision, b.Revision);
        Assert.Empty(b.ListPeople());
        Assert.Empty(b.PendingSitePublications());
    }

    [Fact]
    public void The_canonical_plaintext_round_trips_and_does_not_depend_on_template_order()
    {
        using var a = _a.Open();
        var r = a.SiteRecordOf(EnrollAda(a).Uid)!;
        byte[] bytes = SiteRecordJson.Serialize(r);

        Assert.Equal(bytes, SiteRecordJson.Serialize(SiteRecordJson.Parse(bytes)));
        Assert.Equal(bytes, SiteRecordJson.Serialize(r with { Person = r.Person! with { Templates = [.. r.Person.Templates.Reverse()] } }));
        Assert.NotEqual(bytes, SiteRecordJson.Serialize(r with { Person = r.Person! with { Enabled = true } }));

        string json = System.Text.Encoding.UTF8.GetString(bytes);
        Assert.Throws<ArgumentException>(() => SiteRecordJson.Parse(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"deleted\":false", "\"deleted\":false,\"extra\":1"))));
        Assert.Throws<ArgumentException>(() => SiteRecordJson.Parse(System.Text.Encoding.UTF8.GetBytes(json.Replace("\"revision\":1,", ""))));
        Assert.Throws<ArgumentException>(() => SiteRecordJson.Parse("{\"uid\":"u8));
    }
}
