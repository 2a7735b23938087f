using Kiosk.Host.Gallery;

namespace Kiosk.Tests.Gallery;

public sealed class GalleryStoreTests : IDisposable
{
    private readonly GalleryDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly DateTimeOffset From = new(2025, 1, 1, 8, 0, 0, TimeSpan.FromHours(1));
    private static readonly DateTimeOffset Until = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_enrolled_person_can_be_got_listed_and_found_with_every_field()
    {
        using var store = _dir.Open();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var enrolled = store.Enroll(new PersonDraft("  Ada Lovelace ", "E-1815", [" staff", "night", "staff"], From, Until, Enabled: false),
            [G.Template(1), G.Template(2)]);

        Assert.True(enrolled.Id > 0);
        Assert.Equal("Ada Lovelace", enrolled.Name);
        Assert.Equal("E-1815", enrolled.ExternalId);
        Assert.Equal(["night", "staff"], enrolled.Groups);
        Assert.Equal(From, enrolled.ValidFrom);
        Assert.Equal(Until, enrolled.ValidUntil);
        Assert.False(enrolled.Enabled);
        Assert.InRange(enrolled.CreatedUtc, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(TimeSpan.Zero, enrolled.CreatedUtc.Offset);

        AssertSamePerson(enrolled, store.GetPerson(enrolled.Id));
        AssertSamePerson(enrolled, store.FindByExternalId("E-1815"));
        AssertSamePerson(enrolled, Assert.Single(store.ListPeople()));
        Assert.Null(store.GetPerson(enrolled.Id + 1));
        Assert.Null(store.FindByExternalId("E-0000"));

        var templates = store.TemplatesOf(enrolled.Id);
        Assert.Equal(2, templates.Count);
        Assert.Equal(G.Vector(1), templates[0].Vector);
        Assert.Equal(G.Vector(2), templates[1].Vector);
        Assert.All(templates, t => Assert.Equal((G.Model, G.Hash, 0.8f, enrolled.Id), (t.ModelName, t.ModelHash, t.Quality, t.PersonId)));
        Assert.Equal("test:1", templates[0].Source);
    }

    [Fact]
    public void Data_persists_when_the_gallery_is_opened_again()
    {
        Person ada, bob;
        long revision;
        using (var store = _dir.Open())
        {
            ada = store.Enroll(new PersonDraft("Ada", "E-1", ["staff"], From, Until), [G.Template(1, crop: G.Crop(1))]);
            bob = store.Enroll(new PersonDraft("Bob"), [G.Template(2, dim: 128)]);
            revision = store.Revision;
        }
        using (var store = _dir.Open())
        {
            Assert.Equal(GallerySchema.CurrentVersion, store.SchemaVersion);
            Assert.Equal(revision, store.Revision);
            var people = store.ListPeople();
            Assert.Equal(2, people.Count);
            AssertSamePerson(ada, people[0]);
            AssertSamePerson(bob, people[1]);
            Assert.Equal([G.Vector(1), G.Vector(2)], store.LoadTemplates(G.Model, G.Hash).Select(t => t.Vector));
            var crop = Assert.Single(store.LoadCrops());
            Assert.Equal(G.Crop(1).Image, crop.Crop.Image);
        }
    }

    [Fact]
    public void Enrolling_without_templates_is_an_argument_error()
    {
        using var store = _dir.Open();
        Assert.Throws<ArgumentException>(() => store.Enroll(new PersonDraft("Ada"), []));
        Assert.Throws<ArgumentException>(() => store.Enroll(new PersonDraft("  "), [G.Template(1)]));
        Assert.Throws<ArgumentException>(() => store.Enroll(new PersonDraft("Ada", ValidFrom: Until, ValidUntil: From), [G.Template(1)]));
        Assert.Throws<ArgumentException>(() => store.Enroll(new PersonDraft("Ada"), [G.Template(1) with { Vector = [1f, float.NaN] }]));
        Assert.Throws<ArgumentException>(() => store.Enroll(new PersonDraft("Ada"), [G.Template(1) with { ModelName = " arcface" }]));
        Assert.Throws<ArgumentException>(() => store.Enroll(new PersonDraft("Ada"), [G.Template(1, crop: G.Crop(1) with { Points = [1f, 2f] })]));
        Assert.Empty(store.ListPeople());
    }

    [Fact]
    public void A_duplicate_ExternalId_is_refused_naming_the_field_and_changes_nothing()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada", "E-1"), [G.Template(1)]);
        var bob = store.Enroll(new PersonDraft("Bob", "E-2"), [G.Template(2)]);
        long revision = store.Revision;

        var e = Assert.Throws<GalleryException>(() => store.Enroll(new PersonDraft("Eve", "E-1"), [G.Template(3)]));
        Assert.Contains("ExternalId", e.Message);
        e = Assert.Throws<GalleryException>(() => store.UpdatePerson(bob.Id, new PersonDraft("Bob", "E-1")));
        Assert.Contains("ExternalId", e.Message);

        Assert.Equal(2, store.ListPeople().Count);
        Assert.Equal("E-2", store.GetPerson(bob.Id)!.ExternalId);
        Assert.Equal(revision, store.Revision);
        Assert.Equal(2, store.LoadTemplates(G.Model, G.Hash).Count);
        // Keeping one's own ExternalId is not a duplicate.
        Assert.Equal("Ada L.", store.UpdatePerson(ada.Id, new PersonDraft("Ada L.", "E-1")).Name);
    }

    [Fact]
    public void Updating_replaces_the_fields_and_keeps_the_templates()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada", "E-1", ["staff"]), [G.Template(1)]);
        var updated = store.UpdatePerson(ada.Id, new PersonDraft("Ada King", null, ["visitors", "board"], From, null, Enabled: false));

        Assert.Equal(ada.Id, updated.Id);
        Assert.Equal("Ada King", updated.Name);
        Assert.Null(updated.ExternalId);
        Assert.Equal(["board", "visitors"], updated.Groups);
        Assert.Equal(From, updated.ValidFrom);
        Assert.Null(updated.ValidUntil);
        Assert.False(updated.Enabled);
        Assert.Equal(ada.CreatedUtc, updated.CreatedUtc);
        AssertSamePerson(updated, store.GetPerson(ada.Id));
        Assert.Null(store.FindByExternalId("E-1"));
        Assert.Single(store.TemplatesOf(ada.Id));

        var e = Assert.Throws<GalleryException>(() => store.UpdatePerson(ada.Id + 100, new PersonDraft("Nobody")));
        Assert.Contains($"{ada.Id + 100}", e.Message);
    }

    [Fact]
    public void Removing_a_person_removes_their_templates_and_crops()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1, crop: G.Crop(1)), G.Template(2, crop: G.Crop(2))]);
        var bob = store.Enroll(new PersonDraft("Bob"), [G.Template(3, crop: G.Crop(3))]);

        Assert.True(store.RemovePerson(ada.Id));
        Assert.False(store.RemovePerson(ada.Id));

        Assert.Null(store.GetPerson(ada.Id));
        Assert.Empty(store.TemplatesOf(ada.Id));
        Assert.Equal([bob.Id], store.ListPeople().Select(p => p.Id));
        Assert.Equal([bob.Id], store.LoadCrops().Select(c => c.PersonId));
        using var raw = _dir.Raw(readOnly: true);
        Assert.Equal(1, G.Count(raw, "templates"));
        Assert.Equal(1, G.Count(raw, "crops"));
    }

    [Fact]
    public void Site_ids_and_site_revisions_follow_each_person_and_a_deletion_leaves_a_tombstone_above_them()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        Assert.Equal(GalleryStore.NormalizeUid(ada.Uid), ada.Uid);
        Assert.Equal(1, ada.SiteRevision);
        Assert.Equal(2, store.UpdatePerson(ada.Id, new PersonDraft("Ada L")).SiteRevision);
        store.AddTemplates(ada.Id, [G.Template(2)]);
        Assert.Equal(3, store.FindByUid(ada.Uid)!.SiteRevision);
        Assert.Null(store.FindByUid("not-a-uuid"));

        // A uid chosen by the caller is kept (normalized); a taken one is refused and changes nothing.
        string chosen = "6F9619FF-8B86-4011-B42D-00C04FC964FF";
        var bob = store.Enroll(new PersonDraft("Bob"), [G.Template(3)], chosen);
        Assert.Equal(chosen.ToLowerInvariant(), bob.Uid);
        long revision = store.Revision;
        Assert.Throws<GalleryException>(() => store.Enroll(new PersonDraft("Bob again"), [G.Template(4)], bob.Uid));
        Assert.Throws<ArgumentException>(() => store.Enroll(new PersonDraft("Eve"), [G.Template(4)], "12345"));
        Assert.Equal(revision, store.Revision);

        // Deleted: a tombstone one above the last revision; enrolled again under the same uid: above the tombstone.
        Assert.True(store.RemovePerson(ada.Id));
        using (var raw = _dir.Raw(readOnly: true))
            Assert.Equal(4L, G.Scalar(raw, $"SELECT site_revision FROM tombstones WHERE uid = '{ada.Uid}'"));
        var back = store.Enroll(new PersonDraft("Ada"), [G.Template(5)], ada.Uid);
        Assert.Equal(5, back.SiteRevision);
        using (var raw = _dir.Raw(readOnly: true))
            Assert.Equal(0, G.Count(raw, "tombstones"));
    }

    [Fact]
    public void Changed_announces_local_changes_only_not_the_fleet_syncs_bookkeeping()
    {
        using var store = _dir.Open();
        int changes = 0;
        store.Changed += () => changes++;
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        store.UpdatePerson(ada.Id, new PersonDraft("Ada L"));
        store.AddTemplates(ada.Id, [G.Template(2)]);
        Assert.Equal(3, changes);
        store.MarkSitePublished(ada.Uid, store.GetPerson(ada.Id)!.SiteRevision); // the sync's own write
        Assert.Equal(3, changes);
        Assert.Throws<GalleryException>(() => store.UpdatePerson(999, new PersonDraft("Nobody"))); // nothing committed
        Assert.Equal(3, changes);
        store.RemovePerson(ada.Id);
        Assert.Equal(4, changes);
    }

    [Fact]
    public void The_revision_goes_up_with_every_change_and_only_then()
    {
        using var store = _dir.Open();
        Assert.Equal(0, store.Revision);
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        Assert.Equal(1, store.Revision);
        Assert.Equal(1, ada.Revision);
        var bob = store.Enroll(new PersonDraft("Bob"), [G.Template(2)]);
        Assert.Equal(2, bob.Revision);

        store.AddTemplates(ada.Id, [G.Template(3)]);
        Assert.Equal(3, store.Revision);
        Assert.Equal(3, store.GetPerson(ada.Id)!.Revision);
        Assert.Equal(2, store.GetPerson(bob.Id)!.Revision);

        Assert.Equal(4, store.UpdatePerson(bob.Id, new PersonDraft("Robert")).Revision);
        Assert.True(store.RemovePerson(ada.Id));
        Assert.Equal(5, store.Revision);

        // No change, no new revision: reads, a failed change, removing nobody.
        store.ListPeople();
        Assert.False(store.RemovePerson(ada.Id));
        Assert.Throws<GalleryException>(() => store.Enroll(new PersonDraft("Eve"), [G.Template(4), G.Template(5, dim: 64)]));
        Assert.Equal(5, store.Revision);
        store.Dispose();
        using var again = _dir.Open();
        Assert.Equal(5, again.Revision);
    }

    [Fact]
    public void Beyond_the_maximum_the_best_templates_of_each_model_are_kept()
    {
        using var store = _dir.Open(_dir.Options(maxTemplates: 3));
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1, 0.5f), G.Template(2, 0.6f), G.Template(9, 0.1f, model: "other", dim: 16)]);

        var kept = store.AddTemplates(ada.Id, [G.Template(3, 0.9f), G.Template(4, 0.1f), G.Template(5, 0.7f)]);

        // Of the new ones, 0.1 did not make the best three (0.9, 0.7, 0.6); 0.5 of the old ones went too.
        Assert.Equal([0.9f, 0.7f], kept.Select(t => t.Quality));
        Assert.Equal([G.Vector(3), G.Vector(5)], kept.Select(t => t.Vector));
        var now = store.TemplatesOf(ada.Id);
        Assert.Equal([0.6f, 0.7f, 0.9f], now.Where(t => t.ModelName == G.Model).Select(t => t.Quality).Order());
        Assert.Equal(kept.Select(t => t.Id), now.Where(t => t.Quality > 0.65f).Select(t => t.Id));
        // Another model has its own allowance.
        Assert.Single(now, t => t.ModelName == "other");
    }

    [Fact]
    public void Enrolling_more_templates_than_the_maximum_keeps_the_best()
    {
        using var store = _dir.Open(_dir.Options(maxTemplates: 2));
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1, 0.3f), G.Template(2, 0.9f), G.Template(3, 0.6f)]);
        Assert.Equal([0.6f, 0.9f], store.TemplatesOf(ada.Id).Select(t => t.Quality).Order());
    }

    [Fact]
    public void Adding_templates_to_nobody_is_refused()
    {
        using var store = _dir.Open();
        Assert.Throws<GalleryException>(() => store.AddTemplates(42, [G.Template(1)]));
        Assert.Throws<ArgumentException>(() => store.AddTemplates(42, []));
        Assert.Equal(0, store.Revision);
    }

    [Fact]
    public void LoadTemplates_returns_only_the_asked_model_name_and_hash()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1, model: "a", hash: "h1", dim: 4), G.Template(2, model: "a", hash: "h2", dim: 6)]);
        var bob = store.Enroll(new PersonDraft("Bob"), [G.Template(3, model: "b", hash: "h1", dim: 8), G.Template(4, model: "a", hash: "h1", dim: 4)]);

        var a1 = store.LoadTemplates("a", "h1");
        Assert.Equal([(ada.Id, 4), (bob.Id, 4)], a1.Select(t => (t.PersonId, t.Vector.Length)));
        Assert.All(a1, t => Assert.Equal(("a", "h1"), (t.ModelName, t.ModelHash)));
        Assert.Equal([G.Vector(2, 6)], store.LoadTemplates("a", "h2").Select(t => t.Vector));
        Assert.Equal([G.Vector(3, 8)], store.LoadTemplates("b", "h1").Select(t => t.Vector));
        Assert.Empty(store.LoadTemplates("b", "h2"));
        Assert.Empty(store.LoadTemplates("A", "h1"));
    }

    [Fact]
    public void A_vector_of_another_length_than_its_models_is_refused()
    {
        using var store = _dir.Open();
        var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1, dim: 128)]);
        var e = Assert.Throws<GalleryException>(() => store.AddTemplates(ada.Id, [G.Template(2, dim: 512)]));
        Assert.Contains("512", e.Message);
        Assert.Contains("128", e.Message);
        // The same length under another hash is another model.
        store.AddTemplates(ada.Id, [G.Template(3, hash: "sha256:2222", dim: 512)]);
    }

    [Fact]
    public void An_enrollment_failing_midway_leaves_no_person_template_or_crop_behind()
    {
        using var store = _dir.Open();
        store.Enroll(new PersonDraft("Bob"), [G.Template(1)]);
        int people = store.ListPeople().Count;
        long revision = store.Revision;

        // The first template is written (with its crop) before the second turns out to have the wrong length.
        Assert.Throws<GalleryException>(() => store.Enroll(new PersonDraft("Ada", "E-1", ["staff"]),
            [G.Template(2, model: "new", crop: G.Crop(2)), G.Template(3, model: "new", dim: 64)]));

        Assert.Equal(people, store.ListPeople().Count);
        Assert.Null(store.FindByExternalId("E-1"));
        Assert.Empty(store.LoadTemplates("new", G.Hash));
        Assert.Equal(revision, store.Revision);
        using (var raw = _dir.Raw(readOnly: true))
        {
            Assert.Equal(1, G.Count(raw, "templates"));
            Assert.Equal(0, G.Count(raw, "crops"));
            Assert.Equal(0, G.Count(raw, "person_groups"));
        }
        // And the store is fine afterwards.
        Assert.Equal("E-1", store.Enroll(new PersonDraft("Ada", "E-1"), [G.Template(2, model: "new")]).ExternalId);
    }

    [Fact]
    public void Crops_are_kept_and_returned_only_when_KeepCrops_is_on()
    {
        using (var store = _dir.Open())
        {
            var ada = store.Enroll(new PersonDraft("Ada"), [G.Template(1, crop: G.Crop(1)), G.Template(2)]);
            var crop = Assert.Single(store.LoadCrops());
            Assert.Equal(store.TemplatesOf(ada.Id)[0].Id, crop.TemplateId);
            Assert.Equal(ada.Id, crop.PersonId);
            Assert.Equal(G.Crop(1).Image, crop.Crop.Image);
            Assert.Equal(G.Crop(1).Points, crop.Crop.Points);
            Assert.Equal(G.Crop(1).Box, crop.Crop.Box);
        }
        using (var store = _dir.Open(_dir.Options(keepCrops: false)))
        {
            var bob = store.Enroll(new PersonDraft("Bob"), [G.Template(3, crop: G.Crop(3))]);
            Assert.DoesNotContain(store.LoadCrops(), c => c.PersonId == bob.Id);
        }
    }

    [Fact]
    public void PeopleWithoutTemplatesFor_finds_who_needs_re_embedding_and_who_needs_new_photos()
    {
        using var store = _dir.Open();
        var withCrop = store.Enroll(new PersonDraft("Old model, crop"), [G.Template(1, model: "old", crop: G.Crop(1))]);
        var noCrop = store.Enroll(new PersonDraft("Old model, no crop"), [G.Template(2, model: "old")]);
        store.Enroll(new PersonDraft("New model"), [G.Template(3, model: "new", crop: G.Crop(3))]);

        Assert.Equal([withCrop.Id, noCrop.Id], store.PeopleWithoutTemplatesFor("new", G.Hash, withoutCrops: false).Select(p => p.Id));
        Assert.Equal([noCrop.Id], store.PeopleWithoutTemplatesFor("new", G.Hash, withoutCrops: true).Select(p => p.Id));
        Assert.Equal(3, store.PeopleWithoutTemplatesFor("new", "other-hash", withoutCrops: false).Count);
    }

    [Fact]
    public void The_connection_runs_with_WAL_full_sync_foreign_keys_and_secure_delete()
    {
        using var store = _dir.Open();
        Assert.Equal("wal", store.Pragma("journal_mode"));
        Assert.Equal(1L, store.Pragma("foreign_keys"));
        Assert.Equal(2L, store.Pragma("synchronous")); // FULL
        Assert.Equal(1L, store.Pragma("secure_delete"));
        // The bundled native SQLite loads and is new enough for RETURNING (3.35).
        using var raw = _dir.Raw(readOnly: true);
        var version = Version.Parse((string)G.Scalar(raw, "SELECT sqlite_version()")!);
        Assert.True(version >= new Version(3, 35), $"SQLite {version}");
        Assert.Equal(1L, G.Scalar(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql LIKE '%templates(model_name, model_hash)%'"));
    }

    [Fact]
    public void Many_threads_may_use_one_store_at_once()
    {
        using var store = _dir.Open();
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, worker =>
        {
            for (int i = 0; i < 5; i++)
            {
                var p = store.Enroll(new PersonDraft($"worker {worker} #{i}", $"W{worker}-{i}"), [G.Template(worker * 100 + i)]);
                Assert.Equal(p.Id, store.GetPerson(p.Id)!.Id);
                store.LoadTemplates(G.Model, G.Hash);
            }
        });
        Assert.Equal(20, store.ListPeople().Count);
        Assert.Equal(20, store.Revision);
    }

    [Fact]
    public void A_second_store_on_the_same_file_sees_the_first_ones_changes()
    {
        // As the CLI beside the running service: two connections, one file.
        using var service = _dir.Open();
        using var cli = _dir.Open();
        var ada = cli.Enroll(new PersonDraft("Ada"), [G.Template(1)]);
        Assert.Equal(cli.Revision, service.Revision);
        Assert.Equal("Ada", service.GetPerson(ada.Id)!.Name);
        Assert.Single(service.LoadTemplates(G.Model, G.Hash));
    }

    [Fact]
    public void A_disposed_store_refuses_calls()
    {
        var store = _dir.Open();
        store.Dispose();
        store.Dispose();
        Assert.Throws<ObjectDisposedException>(() => store.ListPeople());
        Assert.Throws<ObjectDisposedException>(() => store.Revision);
    }

    private static void AssertSamePerson(Person expected, Person? actual)
    {
        Assert.NotNull(actual);
        // Records compare lists by reference; compare the groups by content.
        Assert.Equal(expected with { Groups = [] }, actual with { Groups = [] });
        Assert.Equal(expected.Groups, actual.Groups);
    }
}
